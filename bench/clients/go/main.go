// The Go client measured against the work an offline check cannot avoid (bench/clients_offline.py).
// bench bare BENCH_DIR N | check DATA_DIR PRODUCT PUBLIC_KEY N | start DATA_DIR PRODUCT PUBLIC_KEY
package main

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	licentia "github.com/licentia/licentia/clients/go"
)

func cpuSeconds() float64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		panic(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano()).Seconds()
}

// timed gives the seconds per call (wall, CPU of the whole process) of n calls, after n/2 to warm up.
func timed(n int, fn func()) string {
	for i := 0; i < n/2; i++ {
		fn()
	}
	cpu, start := cpuSeconds(), time.Now()
	for i := 0; i < n; i++ {
		fn()
	}
	return fmt.Sprintf("%g %g", time.Since(start).Seconds()/float64(n), (cpuSeconds()-cpu)/float64(n))
}

func mustRead(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return data
}

func bare(dir string, n int) {
	body, sig := mustRead(filepath.Join(dir, "body.bin")), mustRead(filepath.Join(dir, "sig.bin"))
	key := ed25519.PublicKey(mustRead(filepath.Join(dir, "pub.bin")))
	paths := strings.Fields(string(mustRead(filepath.Join(dir, "files.txt"))))
	check := func() {
		if !ed25519.Verify(key, body, sig) {
			panic("signature does not verify")
		}
	}
	fmt.Println("verify", timed(n, check))
	fmt.Println("unavoidable", timed(n, func() {
		for _, path := range paths {
			if strings.HasSuffix(path, "/") {
				_, _ = os.ReadDir(path)
			} else {
				_, _ = os.ReadFile(path)
			}
		}
		check()
	}))
}

func main() {
	args := os.Args[1:]
	if args[0] == "bare" {
		n, _ := strconv.Atoi(args[2])
		bare(args[1], n)
		return
	}
	client, err := licentia.New(licentia.Options{
		ServerURL: "http://127.0.0.1:9", Product: args[2], PublicKey: args[3], DataDir: args[1],
	})
	if err != nil {
		panic(err)
	}
	if args[0] == "check" {
		n, _ := strconv.Atoi(args[4])
		fmt.Println("check", timed(n, func() { client.CheckOffline() }))
		return
	}
	status := client.CheckOffline()
	fmt.Println(status.Allowed, status.State)
}
