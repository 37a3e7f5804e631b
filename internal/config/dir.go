package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lanfind/lanfind/announce"
)

// MaxFiles bounds the files a configuration directory may hold.
const MaxFiles = 1000

// LoadDir reads every *.toml file of the directory dir, in name order
// (files whose names begin with "." are skipped), and merges them with
// [Merge]: a drop-in directory where packages and roles add services each
// in their own file. An empty directory holds no services. Problems in the
// files come back as one [*Error] listing them all, each line naming its
// file.
func LoadDir(dir string) (*File, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	names, err := dirFiles(dir)
	if err != nil {
		return nil, err
	}
	var files []*File
	all := &Error{Path: dir}
	for _, name := range names {
		f, err := Load(filepath.Join(dir, name))
		var ce *Error
		switch {
		case errors.As(err, &ce):
			all.Problems = append(all.Problems, ce.problemsIn()...)
		case err != nil:
			all.Problems = append(all.Problems, Problem{Msg: err.Error(), File: "-"}) // names its file
		default:
			files = append(files, f)
		}
	}
	if len(all.Problems) > 0 {
		return nil, all
	}
	return Merge(dir, files...)
}

// dirFiles returns the names of the *.toml entries of dir, sorted.
func dirFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".toml") || e.IsDir() {
			continue
		}
		names = append(names, n)
	}
	if len(names) > MaxFiles {
		return nil, fmt.Errorf("%s: %d *.toml files, want at most %d", dir, len(names), MaxFiles)
	}
	slices.Sort(names) // ReadDir sorts too; say it here, it is the contract
	return names, nil
}

// problemsIn returns e's problems, each naming e's file.
func (e *Error) problemsIn() []Problem {
	out := slices.Clone(e.Problems)
	for i := range out {
		if out[i].File == "" {
			out[i].File = e.Path
		}
	}
	return out
}

// Merge makes one File of files, read in order, named path: their
// services one after the other, and their top-level settings. A service
// (name and type) defined in two files, or a top-level setting two files
// give different values, is a problem: each file adds services
// independently, and no file silently overrides another.
func Merge(path string, files ...*File) (*File, error) {
	m := &File{Path: path, set: map[string]bool{}}
	setBy := map[string]*File{}
	all := &Error{Path: path}
	for _, f := range files {
		for _, st := range settings {
			key := st.key
			if !f.Sets(key) {
				continue
			}
			if first, ok := setBy[key]; ok {
				if first.Setting(key) != f.Setting(key) {
					all.Problems = append(all.Problems, Problem{File: f.Path, Msg: fmt.Sprintf(
						"%s %s: %s sets it to %s; set each top-level setting in one file",
						key, f.Setting(key), first.Path, first.Setting(key))})
				}
				continue
			}
			setBy[key] = f
			m.set[key] = true
			st.copy(m, f)
		}
		for i, svc := range f.Services {
			m.Services = append(m.Services, svc)
			m.ServiceMDNS = append(m.ServiceMDNS, f.ServiceMDNS[i])
			m.Lines = append(m.Lines, f.Lines[i])
			m.Files = append(m.Files, f.fileOf(i))
		}
	}
	for i, first := range announce.Duplicates(m.Services) {
		svc := m.Services[i]
		all.Problems = append(all.Problems, Problem{File: m.Files[i], Line: m.Lines[i], Col: 1,
			Msg: fmt.Sprintf("service %q of type %q is already defined at %s:%d",
				svc.Name, svc.Type, m.Files[first], m.Lines[first])})
	}
	if len(all.Problems) > 0 {
		return nil, all
	}
	return m, nil
}

// fileOf names the file service i of f comes from.
func (f *File) fileOf(i int) string {
	if i < len(f.Files) {
		return f.Files[i]
	}
	return f.Path
}

// Where returns "FILE:LINE", where service i is defined.
func (f *File) Where(i int) string {
	return fmt.Sprintf("%s:%d", f.fileOf(i), f.Lines[i])
}
