package announce

import (
	"time"

	"github.com/lanfind/lanfind/internal/testhook"
)

func init() {
	testhook.AnnounceListen = func(cfg any, f testhook.Listen) { cfg.(*Config).listen = f }
	testhook.AnnounceClock = func(cfg any, now func() time.Time) { cfg.(*Config).now = now }
}
