// Package output owns what lanfind prints for the services it finds: the
// JSON form (a stable, documented schema: fields are only ever added at
// the end), the data and functions a --format template sees, the table
// for people, watch's one line per event, and the list of interfaces of
// "lanfind iface". Every string that came from
// the network reaches a terminal escaped (see package termtext).
//
// It knows nothing about flags or exit codes: template problems are
// *FormatError values the command turns into usage errors. It must not
// import urfave/cli or tcell; besides the standard library it imports
// only discover (the results), iface and internal/termtext.
package output
