package licentia

// The Go lines `licentia serve` prints (licentia.server.bootstrap.go_snippet) build against this module.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestTheSnippetLicentiaServePrintsBuilds(t *testing.T) {
	python := os.Getenv("LICENTIA_PYTHON")
	if python == "" {
		t.Skip("LICENTIA_PYTHON is not set: the snippet comes from the server's code (scripts/test-clients sets it)")
	}
	out, err := exec.Command(python, "-c", "from licentia.server.bootstrap import go_snippet; "+
		"print(go_snippet('http://127.0.0.1:8000', 'my-app', 'ed25519:fd40e01e7c2874b5:27hOKn79gO3JwRPoreSMnoAnVIt0ZVZX1HMax0WY2JQ'))").Output()
	if err != nil {
		t.Fatalf("the snippet: %v", err)
	}
	importLine, body, found := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if !found || !strings.HasPrefix(importLine, "import licentia ") {
		t.Fatalf("not the expected snippet: %s", out)
	}
	here, _ := os.Getwd()
	dir := t.TempDir()
	sums, _ := os.ReadFile(filepath.Join(here, "go.sum"))
	files := map[string]string{
		"go.mod": "module snippet\n\ngo 1.19\n\nrequire github.com/licentia/licentia/clients/go v0.0.0\n\n" +
			"replace github.com/licentia/licentia/clients/go => " + here + "\n",
		"go.sum": string(sums),
		"main.go": "package main\n\nimport (\n\t\"context\"\n\t\"log\"\n\n\t" + strings.TrimPrefix(importLine, "import ") + "\n)\n\n" +
			"func main() {\n\tctx, dataDir := context.Background(), \"data\"\n" + body + "\n}\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-mod=mod", "-o", filepath.Join(dir, "app"), ".")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the snippet does not build: %v\n%s\n%s", err, out, files["main.go"])
	}
}
