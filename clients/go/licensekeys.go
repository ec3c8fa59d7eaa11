package licentia

import (
	"sort"
	"strings"
)

// License keys: 24 characters and a Luhn mod 32 check character, so a typo is
// caught before any network call. Same rules as licentia.core.licensekeys.

const keyAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
const keyBody = 24

func checkChar(body string) byte {
	// Luhn mod 32: catches every single substitution and every adjacent swap but A<->9.
	factor, total := 2, 0
	for i := len(body) - 1; i >= 0; i-- {
		addend := factor * strings.IndexByte(keyAlphabet, body[i])
		if factor == 2 {
			factor = 1
		} else {
			factor = 2
		}
		total += addend/32 + addend%32
	}
	return keyAlphabet[(32-total%32)%32]
}

// NormalizeKey returns the canonical grouped form of a typed license key, or
// an error matching ErrInvalidKey for a typo. No network call is made.
func NormalizeKey(text string) (string, error) {
	var compact []rune
	for _, r := range strings.ToUpper(text) {
		if r != ' ' && r != '-' && r != '\t' {
			compact = append(compact, r)
		}
	}
	if len(compact) != keyBody+1 {
		return "", newError(ErrInvalidKey, "a license key has %d characters, this one has %d", keyBody+1, len(compact))
	}
	bad := map[rune]bool{}
	for _, r := range compact {
		if !strings.ContainsRune(keyAlphabet, r) {
			bad[r] = true
		}
	}
	if len(bad) > 0 {
		var list []string
		for r := range bad {
			list = append(list, string(r))
		}
		sort.Strings(list)
		return "", newError(ErrInvalidKey, "a license key cannot contain %q", strings.Join(list, ""))
	}
	s := string(compact)
	if checkChar(s[:keyBody]) != s[keyBody] {
		return "", newError(ErrInvalidKey, "the license key has a typo (its check character does not match)")
	}
	groups := make([]string, 0, 5)
	for i := 0; i < len(s); i += 5 {
		groups = append(groups, s[i:i+5])
	}
	return strings.Join(groups, "-"), nil
}

func keyPrefix(key string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(key) {
		if (r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') && b.Len() < 5 {
			b.WriteRune(r)
		}
	}
	return b.String()
}
