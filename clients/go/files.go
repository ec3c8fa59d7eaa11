package licentia

// Durable small files: written whole or not at all, readable only by their owner.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
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
	f, err := openRaw(path)
	if err != nil {
		return nil, true, false
	}
	defer f.Close()
	data = readChunks(f, limit+1, nil)
	if int64(len(data)) > limit {
		return nil, true, false
	}
	return data, true, true
}

const readChunk = 8192

// readChunks reads up to limit bytes, in chunks of readChunk, the buffer growing with
// what is read, never allocated to the limit (the hardware files say size 0, most hold a
// line); it stops at the end, at an error (what was read counts) or after the chunk
// holding until (when not nil). A /proc file is generated again at each read call, so
// a few large reads cost less than many small ones.
func readChunks(f rawFile, limit int64, until []byte) []byte {
	var chunk [readChunk]byte
	var data []byte
	for int64(len(data)) < limit {
		want := limit - int64(len(data))
		if want > readChunk {
			want = readChunk
		}
		n, err := f.Read(chunk[:want])
		data = append(data, chunk[:n]...)
		if err != nil || n == 0 || (until != nil && bytes.Contains(chunk[:n], until)) {
			break
		}
	}
	return data
}
