package announce

import "github.com/lanfind/lanfind/internal/testhook"

func init() {
	testhook.AnnounceListen = func(cfg any, f testhook.Listen) { cfg.(*Config).listen = f }
}
