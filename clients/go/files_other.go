//go:build !linux

package licentia

import "os"

// rawFile: os.File where the Linux readers' plain system calls are not used.
type rawFile struct{ *os.File }

func openRaw(path string) (rawFile, error) {
	f, err := os.Open(path)
	return rawFile{f}, err
}
