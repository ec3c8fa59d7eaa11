package licentia

// The installation's credential kept outside its data folder, so a reinstall
// resumes the installation. Same file, name and content as the Python SDK's
// file store (licentia.client.escrow), so either SDK finds the other's entry:
// <config>/licentia/credentials/<sha256(server\nproduct\ndata path hash)>, a
// 0600 file in a 0700 folder holding the device id and secret (never the
// license key), bound to the server, the product and the data path's hash.
//
// It is read only when the data folder holds no credential. A check with the
// escrowed credential and no token is, to the server, the same installation
// reinstalled; the credential authenticates only together with this machine's
// hardware. The Python SDK prefers the operating system's credential store
// where one works; this SDK, with nothing but the standard library, keeps the file.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
)

const maxEscrowBytes = 4096

// userConfigDir is platformdirs.user_config_dir("licentia", appauthor=False),
// where the Python SDK keeps its file; "" when no home directory can be found.
func userConfigDir(getenv func(string) string, goos string) string {
	if goos == "windows" {
		if local := getenv("LOCALAPPDATA"); filepath.IsAbs(local) {
			return filepath.Join(local, "licentia")
		}
		if home, err := os.UserHomeDir(); err == nil && filepath.IsAbs(home) {
			return filepath.Join(home, "AppData", "Local", "licentia")
		}
		return ""
	}
	// platformdirs takes $XDG_CONFIG_HOME (only an absolute one) on every Unix, macOS included.
	if xdg := getenv("XDG_CONFIG_HOME"); len(xdg) > 0 && xdg[0] == '/' {
		return filepath.Join(xdg, "licentia")
	}
	home := getenv("HOME")
	if home == "" || home[0] != '/' {
		return ""
	}
	if goos == "darwin" {
		return filepath.Join(home, "Library", "Application Support", "licentia")
	}
	return filepath.Join(home, ".config", "licentia")
}

type escrow struct {
	serverURL, product, dataPath string
	account                      string
}

func newEscrow(serverURL, product, dataPath string) escrow {
	sum := sha256.Sum256([]byte(serverURL + "\n" + product + "\n" + dataPath))
	return escrow{serverURL: serverURL, product: product, dataPath: dataPath, account: hex.EncodeToString(sum[:])}
}

func (e escrow) path() string {
	dir := userConfigDir(os.Getenv, runtime.GOOS)
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "credentials", e.account)
}

// load: the escrowed credential, if the file holds a well-formed entry of this installation.
func (e escrow) load() *[2]string {
	path := e.path()
	if path == "" {
		return nil
	}
	raw, _, ok := readSmall(path, maxEscrowBytes)
	if !ok {
		return nil
	}
	var entry map[string]any
	if json.Unmarshal(raw, &entry) != nil {
		return nil
	}
	if entry["server"] != e.serverURL || entry["product"] != e.product || entry["data_path"] != e.dataPath {
		return nil
	}
	if !isToken(entry["device"]) || !isToken(entry["secret"]) {
		return nil
	}
	return &[2]string{entry["device"].(string), entry["secret"].(string)}
}

// save keeps credential for a reinstall; a failure costs a reinstall its resumption only.
func (e escrow) save(credential [2]string) {
	path := e.path()
	if path == "" {
		return
	}
	data, _ := json.Marshal(map[string]string{
		"device": credential[0], "secret": credential[1],
		"server": e.serverURL, "product": e.product, "data_path": e.dataPath,
	})
	_ = writeFileAtomic(path, data)
}

// forget removes the entry (Uninstall with forget): a later install is then a new installation.
func (e escrow) forget() {
	if path := e.path(); path != "" {
		_ = os.Remove(path)
	}
}
