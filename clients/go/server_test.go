package licentia

// The Go SDK against a real `licentia serve` (SQLite in a temporary data
// dir), started by the test with $LICENTIA_PYTHON. scripts/test-clients sets
// it, so CI never skips; run alone without it, these tests say so and skip.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type liveServer struct {
	url, dataDir string
	python       string
	proc         *exec.Cmd
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer starts a real server for this test and reaps it when the test ends.
func startServer(t *testing.T) *liveServer {
	t.Helper()
	python := os.Getenv("LICENTIA_PYTHON")
	if python == "" {
		t.Skip("LICENTIA_PYTHON is not set: the tests against a real `licentia serve` need the Python that has Licentia installed (scripts/test-clients sets it)")
	}
	root := t.TempDir()
	s := &liveServer{dataDir: filepath.Join(root, "server"), python: python}
	port := freePort(t)
	s.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	log, err := os.Create(filepath.Join(root, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.proc = exec.Command(python, "-m", "licentia", "serve", "--data-dir", s.dataDir, "--port", fmt.Sprint(port), "--workers", "1")
	s.proc.Stdout, s.proc.Stderr = log, log
	env := []string{"LICENTIA_PRODUCT_CACHE_SECONDS=0"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LICENTIA_DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	s.proc.Env = env
	if err := s.proc.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = s.proc.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = s.proc.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = s.proc.Process.Kill()
			<-exited
		}
		_ = log.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			out, _ := os.ReadFile(log.Name())
			t.Fatalf("the server exited: %s", out)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", s.url+"/healthz", nil)
		res, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the server did not start in 30 s")
	return nil
}

func (s *liveServer) publicKey(t *testing.T) string {
	raw, err := os.ReadFile(filepath.Join(s.dataDir, "keys", "my-app.pub"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(raw))
}

func (s *liveServer) cli(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(s.python, append(append([]string{"-m", "licentia"}, args...), "--data-dir", s.dataDir)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("licentia %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func (s *liveServer) issueKey(t *testing.T, extra ...string) string {
	return s.cli(t, append([]string{"license", "issue", "--product", "my-app", "--email", "a@b.c"}, extra...)...)
}

// fakeMachine is a computer of its own: a sysfs/procfs tree with a random disk serial, card and machine id.
type fakeMachine struct{ root string }

func newFakeMachine(t *testing.T) *fakeMachine {
	t.Helper()
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	m := &fakeMachine{root: t.TempDir()}
	m.write(t, "etc/machine-id", hex.EncodeToString(id))
	m.write(t, "proc/self/mountinfo", "29 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n")
	m.write(t, "sys/block/sda/device/serial", "SN"+strings.ToUpper(hex.EncodeToString(id[:4])))
	m.write(t, "proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 142\nmodel name\t: Test CPU\nstepping\t: 10\n")
	m.write(t, "sys/class/net/eth0/address", fmt.Sprintf("3c:52:%02x:%02x:%02x:%02x\n", id[4], id[5], id[6], id[7]))
	m.write(t, "sys/class/net/eth0/addr_assign_type", "0\n")
	for _, dir := range []string{"sys/block/sda/sda1", "sys/class/net/eth0/device"} {
		if err := os.MkdirAll(filepath.Join(m.root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func (m *fakeMachine) write(t *testing.T, path, content string) {
	t.Helper()
	full := filepath.Join(m.root, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (m *fakeMachine) reader() HardwareReader {
	return func(dataDir string) RawHardware { return readLinuxHardware(m.root, dataDir) }
}

// ownUserConfig keeps the escrow in a folder of the test's own.
func ownUserConfig(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
}

func (s *liveServer) app(t *testing.T, m *fakeMachine, dataDir string) *Client {
	t.Helper()
	lic, err := New(Options{
		ServerURL: s.url, Product: "my-app", PublicKey: s.publicKey(t), DataDir: dataDir,
		Hardware: m.reader(), AppVersion: "1.4.0",
	})
	if err != nil {
		t.Fatal(err)
	}
	return lic
}

func TestAgainstARealServer(t *testing.T) {
	ownUserConfig(t)
	server := startServer(t)
	ctx := context.Background()

	t.Run("a first check starts a trial, stores a sealed 0600 state and sends the install event", func(t *testing.T) {
		lic := server.app(t, newFakeMachine(t), t.TempDir())
		status := lic.Check(ctx)
		if !status.Allowed || status.State != StateTrial || !status.Online || status.Device == "" {
			t.Fatalf("%+v", status)
		}
		st, err := os.Stat(filepath.Join(lic.DataDir(), "state.json"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("state file: %v %v", st, err)
		}
		if n := lic.queue.count(); n != 0 {
			t.Fatalf("%d events still queued", n)
		}
		first := lic.state.load().token
		again := lic.Check(ctx)
		if again.Device != status.Device || lic.state.load().token == first {
			t.Fatal("the same installation with a rotated token was expected")
		}
	})

	t.Run("offline, the stored document grants what it says, with the hardware read afresh", func(t *testing.T) {
		m := newFakeMachine(t)
		lic := server.app(t, m, t.TempDir())
		online := lic.Check(ctx)
		offline := lic.CheckOffline()
		if !offline.Allowed || offline.State != StateTrial || offline.Online || offline.Device != online.Device {
			t.Fatalf("%+v", offline)
		}
		m.write(t, "sys/block/sda/device/serial", "NEWDISK1") // one replaced part: the same machine
		if !lic.CheckOffline().Allowed {
			t.Fatal("one replaced part denied the machine")
		}
		m.write(t, "etc/machine-id", "0123456789abcdef0123456789abcdef")
		if moved := lic.CheckOffline(); moved.Allowed || moved.Reason != "invalid_document" {
			t.Fatalf("%+v", moved)
		}
	})

	t.Run("an unreachable server falls back to the stored document", func(t *testing.T) {
		m := newFakeMachine(t)
		dir := t.TempDir()
		server.app(t, m, dir).Check(ctx)
		lic, err := New(Options{ServerURL: "http://127.0.0.1:9", Product: "my-app", PublicKey: server.publicKey(t), DataDir: dir, Hardware: m.reader(), Timeout: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if s := lic.Check(ctx); !s.Allowed || s.Online || s.State != StateTrial {
			t.Fatalf("%+v", s)
		}
	})

	t.Run("activation with a key registers the device, with its features and licensee; deactivation frees it", func(t *testing.T) {
		lic := server.app(t, newFakeMachine(t), t.TempDir())
		key := server.issueKey(t, "--feature", "export", "--name", "Acme GmbH")
		status, err := lic.Activate(ctx, strings.ToLower(key))
		if err != nil {
			t.Fatal(err)
		}
		if !status.Allowed || status.State != StateRegistered || !status.HasFeature("export") {
			t.Fatalf("%+v", status)
		}
		if status.Customer == nil || status.Customer.Name != "Acme GmbH" {
			t.Fatalf("the licensee: %+v", status.Customer)
		}
		if off := lic.CheckOffline(); off.State != StateRegistered || !off.HasFeature("export") {
			t.Fatalf("%+v", off)
		}
		after, err := lic.Deactivate(ctx)
		if err != nil || after.State == StateRegistered {
			t.Fatalf("%+v %v", after, err)
		}
	})

	t.Run("a typo is caught before any network call; an unknown key is the server's refusal", func(t *testing.T) {
		lic := server.app(t, newFakeMachine(t), t.TempDir())
		key := server.issueKey(t)
		typo := []byte(key)
		if typo[0] == 'A' {
			typo[0] = 'B'
		} else {
			typo[0] = 'A'
		}
		_, err := lic.Activate(ctx, string(typo))
		if !errors.Is(err, ErrInvalidKey) || !errors.Is(err, ErrLicentia) {
			t.Fatalf("%v", err)
		}
		_, err = lic.Activate(ctx, "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA"[:0]+validUnknownKey())
		var refused *ServerRefusedError
		if !errors.As(err, &refused) || refused.Code != "invalid_key" || !errors.Is(err, ErrServerRefused) {
			t.Fatalf("%v", err)
		}
	})

	t.Run("uninstall keeps the credential in escrow: a reinstall resumes the licensed installation; forget ends that", func(t *testing.T) {
		m := newFakeMachine(t)
		dir := t.TempDir()
		lic := server.app(t, m, dir)
		if _, err := lic.Activate(ctx, server.issueKey(t)); err != nil {
			t.Fatal(err)
		}
		device := lic.Check(ctx).Device
		if _, err := lic.Uninstall(ctx, false); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		again := server.app(t, m, dir).Check(ctx)
		if again.Device != device || again.State != StateRegistered {
			t.Fatalf("not resumed: %+v", again)
		}
		if _, err := server.app(t, m, dir).Uninstall(ctx, true); err != nil {
			t.Fatal(err)
		}
		_ = os.RemoveAll(dir)
		if fresh := server.app(t, m, dir).Check(ctx); fresh.State == StateRegistered {
			t.Fatalf("forgotten, yet registered: %+v", fresh)
		}
	})

	t.Run("values are kept per device on the server", func(t *testing.T) {
		lic := server.app(t, newFakeMachine(t), t.TempDir())
		if v, err := lic.Value(ctx, "theme", ScopeDevice, "none"); err != nil || v != "none" {
			t.Fatalf("%v %v", v, err)
		}
		if err := lic.SetValue(ctx, "theme", ScopeDevice, map[string]any{"dark": true}); err != nil {
			t.Fatal(err)
		}
		v, err := lic.Value(ctx, "theme", ScopeDevice, nil)
		if m, ok := v.(map[string]any); err != nil || !ok || m["dark"] != true {
			t.Fatalf("%v %v", v, err)
		}
	})

	t.Run("a move to a new data folder takes the installation along; the old folder stops working", func(t *testing.T) {
		m := newFakeMachine(t)
		oldDir, newDir := t.TempDir(), t.TempDir()
		old := server.app(t, m, oldDir)
		device := old.Check(ctx).Device
		moved, err := server.app(t, m, newDir).MoveFrom(ctx, oldDir)
		if err != nil || moved.Device != device || !moved.Allowed {
			t.Fatalf("%+v %v", moved, err)
		}
		if _, err := os.Stat(filepath.Join(oldDir, "state.json")); !os.IsNotExist(err) {
			t.Fatal("the old state was left behind")
		}
	})

	t.Run("metered use: counted once per idempotency key, refused past the limit with the figures", func(t *testing.T) {
		server.cli(t, "policy", "create", "my-app", "Metered", "--set", `meters={"renders": {"limit": 3, "period": "month"}}`, "--set", "max_devices=10")
		key := server.issueKey(t, "--policy", "Metered")
		lic := server.app(t, newFakeMachine(t), t.TempDir())
		if _, err := lic.Activate(ctx, key); err != nil {
			t.Fatal(err)
		}
		first, err := lic.Consume(ctx, "renders", 2, "job-1")
		if err != nil || first.Used != 2 || first.Remaining != 1 || first.Limit != 3 {
			t.Fatalf("%+v %v", first, err)
		}
		again, err := lic.Consume(ctx, "renders", 2, "job-1")
		if err != nil || !again.Replayed || again.Used != 2 {
			t.Fatalf("a retry was counted twice: %+v %v", again, err)
		}
		_, err = lic.Consume(ctx, "renders", 2, "")
		var quota *QuotaExceededError
		if !errors.As(err, &quota) || !errors.Is(err, ErrQuotaExceeded) || quota.Consumption.Remaining != 1 || quota.Consumption.Meter != "renders" {
			t.Fatalf("%v %+v", err, quota)
		}
	})

	t.Run("a floating seat: checkout, heartbeats, release; the second machine waits for the seat", func(t *testing.T) {
		server.cli(t, "policy", "create", "my-app", "Floating", "--set", "kind=floating", "--set", "max_devices=1",
			"--set", "floating_lease_seconds=60", "--set", "borrow_days=3")
		key := server.issueKey(t, "--policy", "Floating")
		lic := server.app(t, newFakeMachine(t), t.TempDir())
		lease, err := lic.Checkout(ctx, key, CheckoutOptions{})
		if err != nil || !lease.Valid() || lease.State() != LeaseActive || lease.Borrowed() {
			t.Fatalf("%v %v", lease, err)
		}
		if err := lease.Heartbeat(ctx); err != nil || lease.Heartbeats() != 1 {
			t.Fatalf("%v", err)
		}
		lease.StartHeartbeats(100 * time.Millisecond)
		time.Sleep(350 * time.Millisecond)
		if lease.Heartbeats() < 2 || !lease.Valid() {
			t.Fatalf("the goroutine kept no seat: %d heartbeats, %s %s", lease.Heartbeats(), lease.State(), lease.Err())
		}
		other := server.app(t, newFakeMachine(t), t.TempDir())
		_, err = other.Checkout(ctx, key, CheckoutOptions{})
		var refused *ServerRefusedError
		if !errors.As(err, &refused) || refused.Code != CodeNoSeatAvailable {
			t.Fatalf("%v", err)
		}
		if err := lease.Release(ctx); err != nil || lease.State() != LeaseReleased || lease.Valid() {
			t.Fatalf("%v %s", err, lease.State())
		}
		second, err := other.Checkout(ctx, key, CheckoutOptions{})
		if err != nil || !second.Valid() {
			t.Fatalf("%v", err)
		}
		_ = second.Release(ctx)
	})

	t.Run("a borrowed seat works offline from the kept lease document, and not on other hardware", func(t *testing.T) {
		server.cli(t, "policy", "create", "my-app", "Borrow", "--set", "kind=floating", "--set", "max_devices=2",
			"--set", "floating_lease_seconds=60", "--set", "borrow_days=3")
		key := server.issueKey(t, "--policy", "Borrow")
		m, dir := newFakeMachine(t), t.TempDir()
		lease, err := server.app(t, m, dir).Checkout(ctx, key, CheckoutOptions{BorrowDays: 2})
		if err != nil || !lease.Borrowed() || lease.State() != LeaseBorrowed {
			t.Fatalf("%v %v", lease, err)
		}
		offline, err := New(Options{ServerURL: deadServer, Product: "my-app", PublicKey: server.publicKey(t), DataDir: dir, Hardware: m.reader(), Timeout: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		kept, err := offline.Checkout(ctx, key, CheckoutOptions{})
		if err != nil || !kept.Valid() || kept.Online() || kept.ID() != lease.ID() {
			t.Fatalf("%v %v", kept, err)
		}
		m.write(t, "etc/machine-id", "0123456789abcdef0123456789abcdef")
		m.write(t, "sys/block/sda/device/serial", "OTHERDISK")
		if _, err := offline.Checkout(ctx, key, CheckoutOptions{}); !errors.Is(err, ErrOffline) {
			t.Fatalf("the borrow worked on other hardware: %v", err)
		}
	})

	t.Run("air-gapped: a request file, the vendor's response installed, then a proof that frees the seat", func(t *testing.T) {
		key := server.issueKey(t, "--max-devices", "1")
		m, dir := newFakeMachine(t), t.TempDir()
		lic, err := New(Options{ServerURL: deadServer, Product: "my-app", PublicKey: server.publicKey(t), DataDir: dir, Hardware: m.reader()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lic.ActivationRequest("AAAAA"); !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("%v", err)
		}
		request, err := lic.ActivationRequest(key)
		if err != nil || !strings.HasPrefix(request, "-----BEGIN LICENTIA ACTIVATION REQUEST-----") {
			t.Fatalf("%q %v", request, err)
		}
		requestFile := filepath.Join(t.TempDir(), "request.txt")
		write(t, requestFile, request)
		response := server.cli(t, "license", "offline-activate", requestFile)
		// Another machine cannot use it.
		other, _ := New(Options{ServerURL: deadServer, Product: "my-app", PublicKey: server.publicKey(t), DataDir: t.TempDir(), Hardware: newFakeMachine(t).reader()})
		if _, err := other.InstallActivation(response); !errors.Is(err, ErrInvalidAnswer) {
			t.Fatalf("installed elsewhere: %v", err)
		}
		status, err := lic.InstallActivation(response)
		if err != nil || !status.Allowed || status.State != StateRegistered {
			t.Fatalf("%+v %v", status, err)
		}
		if off := lic.Check(ctx); !off.Allowed || off.Online || off.State != StateRegistered {
			t.Fatalf("%+v", off)
		}
		if _, err := lic.InstallActivation(response); !errors.Is(err, ErrInvalidAnswer) {
			t.Fatalf("a response installed twice: %v", err)
		}
		proof, err := lic.DeactivateOffline()
		if err != nil || !strings.Contains(proof, "DEACTIVATION PROOF") {
			t.Fatalf("%v", err)
		}
		if again, _ := lic.DeactivateOffline(); again != proof {
			t.Fatal("a second call gave another proof")
		}
		if off := lic.CheckOffline(); off.Allowed {
			t.Fatalf("still allowed after the proof: %+v", off)
		}
		proofFile := filepath.Join(t.TempDir(), "proof.txt")
		write(t, proofFile, proof)
		server.cli(t, "license", "offline-deactivate", proofFile)
	})

	t.Run("concurrent checks from many goroutines keep one consistent state", func(t *testing.T) {
		lic := server.app(t, newFakeMachine(t), t.TempDir())
		var wg sync.WaitGroup
		devices := make(chan string, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				devices <- lic.Check(ctx).Device
			}()
		}
		wg.Wait()
		close(devices)
		first := ""
		for d := range devices {
			if first == "" {
				first = d
			}
			if d == "" || d != first {
				t.Fatalf("devices differ: %q %q", first, d)
			}
		}
		if s := lic.CheckOffline(); !s.Allowed {
			t.Fatalf("%+v", s)
		}
	})
}

// validUnknownKey: a well-formed key (its check character right) that no server issued.
func validUnknownKey() string {
	body := "ABCDEFGHJKLMNPQRSTUVWXYZ"
	return body[:5] + "-" + body[5:10] + "-" + body[10:15] + "-" + body[15:20] + "-" + body[20:24] + string(checkChar(body))
}
