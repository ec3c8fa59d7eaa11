//go:build !linux

package licentia

import "os"

// rawFile: os.File where the Linux readers' plain system calls are not used.
type rawFile struct{ *os.File }

func openRaw(path string) (rawFile, error) {
	f, err := os.Open(path)
	return rawFile{f}, err
}

// fileIdentity: the modification time and size of path, where no inode is at hand (the Linux
// readers run here only on the conformance vectors' fake trees).
func fileIdentity(path string) (identity [4]int64, ok bool) {
	st, err := os.Stat(path)
	if err != nil {
		return identity, false
	}
	return [4]int64{0, st.Size(), st.ModTime().Unix(), int64(st.ModTime().Nanosecond())}, true
}
