// Package config reads the configuration file of "lanfind announce" and
// "lanfind check-config": a TOML file of top-level settings and
// [[service]] tables, turned into a [File] whose services are
// [announce.Service] values.
//
// It owns the file's schema and its error report: every problem comes
// back in an [*Error] as "FILE:LINE:COL: problem" lines. The TOML library
// (github.com/pelletier/go-toml/v2, used only here) reports syntax errors,
// values of the wrong type or range and unknown keys with their place;
// this package adds the place of the key at fault to the problems it
// finds itself, and checks values by the rules the announce package
// exports ([announce.CheckInterval], [announce.CheckName],
// [announce.Duplicates], [announce.CheckServices] and the like) instead of
// restating them.
//
// [LoadDir] reads a drop-in directory: every *.toml file in name order,
// merged by [Merge] into one [File] whose services remember their file
// ([File.Where]); a service or a differing top-level setting given by two
// files is a problem.
//
// A file is read only if it is a regular file of at most [MaxSize] bytes,
// so a FIFO or device named as the file cannot block a reload.
//
// It must not import urfave/cli or anything of the command: flags and
// their precedence over the file are the command's business.
package config
