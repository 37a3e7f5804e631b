package discover

import (
	"time"

	"github.com/lanfind/lanfind/internal/testhook"
)

func init() {
	testhook.DiscoverListen = func(cfg any, f testhook.Listen) { cfg.(*Config).listen = f }
	testhook.DiscoverClock = func(cfg any, now func() time.Time) { cfg.(*Config).now = now }
}
