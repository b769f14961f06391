package pgserver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ErrNoBinaries is wrapped by the error returned when initdb, pg_ctl and
// postgres cannot be found, so callers can suggest HOTLINE_DATABASE_URL.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries found")

// debianRoot is where Debian and Ubuntu install one bin directory per major
// version; those binaries are not on PATH there.
const debianRoot = "/usr/lib/postgresql"

var serverBinaries = []string{"initdb", "pg_ctl", "postgres"}

// FindBinaries returns the directory holding initdb, pg_ctl and postgres.
// A non-empty binDir is the only place looked at: an explicit choice must
// not silently fall back to another installation. Otherwise the highest
// major version under /usr/lib/postgresql/*/bin wins, then PATH.
func FindBinaries(binDir string) (string, error) {
	return findBinaries(binDir, "")
}

// findBinaries prefers the major version an existing cluster was created
// with, because a newer postgres refuses to open an older cluster's files.
func findBinaries(binDir, preferMajor string) (string, error) {
	if binDir != "" {
		abs, err := filepath.Abs(binDir)
		if err != nil {
			return "", fmt.Errorf("resolving PostgreSQL bin dir %q: %w", binDir, err)
		}
		if hasBinaries(abs) {
			return abs, nil
		}
		return "", noBinaries(abs)
	}
	if preferMajor != "" {
		if dir := filepath.Join(debianRoot, preferMajor, "bin"); hasBinaries(dir) {
			return dir, nil
		}
	}
	for _, dir := range debianBinDirs() {
		if hasBinaries(dir) {
			return dir, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		candidates := []string{filepath.Dir(p)}
		// Homebrew-style installs put symlinks on PATH; the real directory
		// may be the only one that holds all three programs.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			candidates = append(candidates, filepath.Dir(real))
		}
		for _, dir := range candidates {
			if hasBinaries(dir) {
				return filepath.Abs(dir)
			}
		}
	}
	return "", noBinaries(debianRoot + "/*/bin and PATH")
}

func noBinaries(where string) error {
	return fmt.Errorf("%w (looked in %s): install them with \"apt-get install postgresql\" or set HOTLINE_DATABASE_URL to use an existing server", ErrNoBinaries, where)
}

// debianBinDirs lists /usr/lib/postgresql/<version>/bin, newest first.
func debianBinDirs() []string {
	dirs, _ := filepath.Glob(filepath.Join(debianRoot, "*", "bin"))
	slices.SortFunc(dirs, func(a, b string) int {
		return slices.Compare(versionKey(b), versionKey(a))
	})
	return dirs
}

// versionKey turns ".../9.6/bin" into [9 6]; non-numeric names sort last.
func versionKey(binDir string) []int {
	var key []int
	for part := range strings.SplitSeq(filepath.Base(filepath.Dir(binDir)), ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return []int{-1}
		}
		key = append(key, n)
	}
	return key
}

func hasBinaries(dir string) bool {
	for _, name := range serverBinaries {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}
