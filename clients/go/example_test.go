package licentia_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	licentia "github.com/licentia/licentia/clients/go"
)

// The five lines: create the client once, ask Check at start, and act on Allowed.
func Example() {
	lic, err := licentia.New(licentia.Options{
		ServerURL: "https://licensing.example.com",
		Product:   "my-app",
		PublicKey: "ed25519:fd40e01e7c2874b5:27hOKn79gO3JwRPoreSMnoAnVIt0ZVZX1HMax0WY2JQ",
		DataDir:   filepath.Join(os.TempDir(), "my-app-example"),
	})
	if err != nil {
		log.Fatal(err) // a malformed key, product or URL: a bug in the application
	}
	status := lic.CheckOffline() // lic.Check(ctx) asks the server first
	fmt.Println(status.Allowed, status.Reason)
	// Output: false no_document
}

func ExampleClient_Activate() {
	dataDir, _ := os.MkdirTemp("", "my-app-example")
	defer os.RemoveAll(dataDir)
	lic, _ := licentia.New(licentia.Options{
		ServerURL: "https://licensing.example.com", Product: "my-app",
		PublicKey: "ed25519:fd40e01e7c2874b5:27hOKn79gO3JwRPoreSMnoAnVIt0ZVZX1HMax0WY2JQ",
		DataDir:   dataDir,
	})
	_, err := lic.Activate(context.Background(), "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ3")
	var refused *licentia.ServerRefusedError
	switch {
	case errors.Is(err, licentia.ErrInvalidKey):
		fmt.Println("typo: no network call was made")
	case errors.As(err, &refused):
		fmt.Println("the server refused:", refused.Code)
	case errors.Is(err, licentia.ErrOffline):
		fmt.Println("offline: try again later")
	}
	// Output: typo: no network call was made
}

func ExampleClient_Consume() {
	dataDir, _ := os.MkdirTemp("", "my-app-example")
	defer os.RemoveAll(dataDir)
	lic, _ := licentia.New(licentia.Options{
		ServerURL: "http://127.0.0.1:9", Product: "my-app",
		PublicKey: "ed25519:fd40e01e7c2874b5:27hOKn79gO3JwRPoreSMnoAnVIt0ZVZX1HMax0WY2JQ",
		DataDir:   dataDir,
	})
	_, err := lic.Consume(context.Background(), "renders", 1, "")
	var quota *licentia.QuotaExceededError
	if errors.As(err, &quota) {
		fmt.Println("limit reached until", quota.Consumption.PeriodEnd)
	} else if errors.Is(err, licentia.ErrOffline) {
		fmt.Println("offline")
	}
	// Output: offline
}
