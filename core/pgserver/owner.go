package pgserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// serverUserName is the account Debian's postgresql package creates; we run
// the server as it when we are root, because postgres refuses to run as root.
const serverUserName = "postgres"

func lookupServerUser() (*syscall.Credential, error) {
	u, err := user.Lookup(serverUserName)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, fmt.Errorf("PostgreSQL refuses to run as root and there is no %q system user to run it as: install the server with \"apt-get install postgresql\" (which creates that user) or run hotline as an unprivileged user", serverUserName)
		}
		return nil, fmt.Errorf("looking up the %q system user: %w", serverUserName, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parsing uid of %q: %w", serverUserName, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parsing gid of %q: %w", serverUserName, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// own hands path to the server user; a no-op when we are not root.
func (s *Server) own(path string) error {
	if s.runAs == nil {
		return nil
	}
	if err := os.Lchown(path, int(s.runAs.Uid), int(s.runAs.Gid)); err != nil {
		return fmt.Errorf("handing %s to the %q user: %w", path, serverUserName, err)
	}
	return nil
}

// ownTree hands the data dir to the server user when it is not already
// theirs (created by us as root, or copied in). A cluster initdb made as that
// user is skipped, so a big production data dir is not walked on every start.
func (s *Server) ownTree(root string) error {
	if s.runAs == nil {
		return nil
	}
	if uid, _, err := owner(root); err != nil {
		return err
	} else if uid == s.runAs.Uid {
		return nil
	}
	s.logger.Info("handing PostgreSQL data dir to the server user", "dir", root, "user", serverUserName)
	return filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return s.own(path)
	})
}

// allowTraversal makes every parent of path searchable by the server user.
// As root we create and own the tree, and t.TempDir or os.MkdirTemp make
// 0700 parents, so the postgres user could not even reach its own data dir.
// Only the missing search (x) bit is added, never read: the server user can
// walk through to its directory but still cannot list what else is there.
func (s *Server) allowTraversal(path string) error {
	if s.runAs == nil {
		return nil
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if err := s.allowSearch(dir); err != nil {
			return err
		}
		if dir == filepath.Dir(dir) {
			return nil
		}
	}
}

func (s *Server) allowSearch(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("checking access to %s: %w", dir, err)
	}
	uid, gid, err := owner(dir)
	if err != nil {
		return err
	}
	// Unix applies exactly one permission class: owner, else group, else
	// other. The server runs without supplementary groups (see command).
	var need fs.FileMode = 0o001
	switch {
	case uid == s.runAs.Uid:
		need = 0o100
	case gid == s.runAs.Gid:
		need = 0o010
	}
	if fi.Mode().Perm()&need != 0 {
		return nil
	}
	mode := fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) | need
	s.logger.Info("letting the PostgreSQL server user traverse a parent directory", "dir", dir, "mode", mode.String())
	if err := os.Chmod(dir, mode); err != nil {
		return fmt.Errorf("letting the %q user traverse %s: %w", serverUserName, dir, err)
	}
	return nil
}

func owner(path string) (uid, gid uint32, err error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("checking owner of %s: %w", path, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, fmt.Errorf("checking owner of %s: no unix file ownership", path)
	}
	return st.Uid, st.Gid, nil
}
