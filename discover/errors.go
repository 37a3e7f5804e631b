package discover

import "errors"

var errNoName = errors.New("discover: Resolve needs Config.Name")
