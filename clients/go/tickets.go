package licentia

// The installer ticket: the signed file a download carries beside the installer
// (licentia-ticket.json). Its text goes with the first check only, when the
// installation has no credential yet; the server verifies it (a client never does).

import (
	"fmt"
	"io"
	"log"
	"os"
	"strings"
)

// TicketFile is the installer ticket's file name, beside the program (docs/integrate-go.md).
const TicketFile = "licentia-ticket.json"

// MaxTicketBytes: a larger file is never sent.
const MaxTicketBytes = 4096

// TicketProblem says why raw must not be sent as an installer ticket, or "" when it may be:
// larger than MaxTicketBytes, not UTF-8 JSON, not an object whose "document" is an object
// of kind "installer_ticket", or without a string "kid" and "sig". The signature is not checked.
func TicketProblem(raw []byte) string {
	if len(raw) > MaxTicketBytes {
		return fmt.Sprintf("larger than %d bytes", MaxTicketBytes)
	}
	value, err := parseJSON(raw)
	if err != nil {
		return "not UTF-8 JSON"
	}
	signed, _ := value.(map[string]any)
	document, _ := signed["document"].(map[string]any)
	if document == nil || document["kind"] != "installer_ticket" {
		return "not an installer ticket"
	}
	if _, ok := signed["kid"].(string); !ok {
		return "not a signed document"
	}
	if _, ok := signed["sig"].(string); !ok {
		return "not a signed document"
	}
	return ""
}

// readTicket is the ticket's text to send at first contact, or "": no path, no file (a first
// contact as any other), or a file a client must not send (logged: a damaged file never stops the app).
func readTicket(path string) string {
	if path == "" {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxTicketBytes+1))
	if err != nil {
		return ""
	}
	if problem := TicketProblem(raw); problem != "" {
		log.Printf("licentia: installer ticket %s not sent: %s", path, problem)
		return ""
	}
	return strings.TrimSpace(string(raw))
}
