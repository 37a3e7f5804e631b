package discover

import "github.com/lanfind/lanfind/internal/testhook"

func init() {
	testhook.DiscoverListen = func(cfg any, f testhook.Listen) { cfg.(*Config).listen = f }
}
