package licentia

// Durable small files: written whole or not at all, readable only by their owner.

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"runtime"
)

// writeFileAtomic writes to a temporary file (mode 0600, created exclusively,
// never through a planted link), fsyncs it, renames it over path and fsyncs
// the directory: a crash leaves the old file or the new one, never half of one
// (which would lose the credential).
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	tmp := filepath.Join(dir, ".tmp-"+hex.EncodeToString(suffix))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	syncDir(dir)
	return nil
}

func syncDir(dir string) {
	if runtime.GOOS == "windows" {
		return // a directory cannot be opened there; MoveFileEx is durable enough
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // a file system without directory fsync: the rename is still atomic
		_ = d.Close()
	}
}

// readSmall reads at most limit bytes of a regular file; ok is false for a
// missing file, anything but a regular file, or a larger one.
func readSmall(path string, limit int64) (data []byte, exists bool, ok bool) {
	st, err := os.Lstat(path)
	if err != nil {
		return nil, !os.IsNotExist(err), false
	}
	if !st.Mode().IsRegular() {
		return nil, true, false
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, true, false
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil || int64(len(data)) > limit {
		return nil, true, false
	}
	return data, true, true
}
