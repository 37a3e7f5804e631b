package main

import "time"

// releaseAfter is how long announce, watch and serve run before they call
// releaseStartup: past their start, their first beacons and their first
// query.
const releaseAfter = time.Second
