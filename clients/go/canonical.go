package licentia

// Canonical JSON: the exact bytes that get signed, as the core writes them
// (src/licentia/core/canonical.py): keys sorted by code point, no white space,
// UTF-8, integers within ±(2^63-1), no floats.
//
// Texts are read by jsontext.go into encoding/json's values (numbers as
// json.Number, so integers stay exact), after precheck refuses what
// encoding/json would accept but change: it silently turns a lone surrogate
// escape or a byte that is not UTF-8 into U+FFFD (a document the core refuses
// would verify), and it nests 10,000 deep. encoding/json's encoder escapes <,
// >, & and U+2028, which the core writes raw: canonical bytes are written here.

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds nesting: a hostile answer must not exhaust the stack.
const maxDepth = 512

var errJSON = errors.New("not canonical JSON")

// parseJSON parses one JSON text into nil, bool, string, json.Number,
// []any and map[string]any (a repeated key: the last one wins, as in the core).
func parseJSON(data []byte) (any, error) {
	if err := precheck(data); err != nil {
		return nil, err
	}
	return readJSON(data)
}

// precheck refuses what encoding/json would accept but change: text that is
// not UTF-8, lone surrogate escapes, nesting beyond maxDepth.
func precheck(data []byte) error {
	if !utf8.Valid(data) {
		return errJSON
	}
	depth := 0
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if !inString {
			switch c {
			case '"':
				inString = true
			case '[', '{':
				depth++
				if depth > maxDepth {
					return errJSON
				}
			case ']', '}':
				depth--
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 < len(data) && data[i+1] == 'u' {
				r, ok := hex4(data, i+2)
				if !ok {
					return errJSON
				}
				if r >= 0xdc00 && r <= 0xdfff {
					return errJSON // a low surrogate with no high one before it
				}
				if r >= 0xd800 && r <= 0xdbff {
					if i+7 >= len(data) || data[i+6] != '\\' || data[i+7] != 'u' {
						return errJSON
					}
					low, ok := hex4(data, i+8)
					if !ok || low < 0xdc00 || low > 0xdfff {
						return errJSON
					}
					i += 6
				}
				i += 5
			} else {
				i++
			}
		}
	}
	return nil
}

func hex4(data []byte, at int) (int, bool) {
	if at+4 > len(data) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(data[at:at+4]), 16, 16)
	return int(v), err == nil
}

// canonicalJSON returns the canonical bytes of a value made of nil, bool,
// string, json.Number (integers only), int, int64, []any, []string,
// map[string]any and map[string]string; anything else is refused.
func canonicalJSON(value any) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeCanonical(&buf, value); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeCanonical(buf *bytes.Buffer, value any) error {
	switch v := value.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		if v {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
	case string:
		return writeString(buf, v)
	case json.Number:
		n, err := canonicalInteger(string(v))
		if err != nil {
			return err
		}
		buf.WriteString(n)
	case int:
		return writeCanonical(buf, int64(v))
	case int64:
		if v == math.MinInt64 {
			return errJSON
		}
		buf.WriteString(strconv.FormatInt(v, 10))
	case []any:
		buf.WriteByte('[')
		for i, item := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeCanonical(buf, item); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case []string:
		items := make([]any, len(v))
		for i, s := range v {
			items[i] = s
		}
		return writeCanonical(buf, items)
	case map[string]string:
		m := make(map[string]any, len(v))
		for k, s := range v {
			m[k] = s
		}
		return writeCanonical(buf, m)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		// UTF-8 byte order is code point order, the core's order.
		sort.Strings(keys)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeString(buf, k); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := writeCanonical(buf, v[k]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	default:
		return errJSON // floats above all: their text is not stable across languages
	}
	return nil
}

// canonicalInteger: the core's text of an integer literal, or an error for a
// float or an integer beyond ±(2^63-1).
func canonicalInteger(text string) (string, error) {
	if strings.ContainsAny(text, ".eE") {
		return "", errJSON
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n == math.MinInt64 {
		return "", errJSON
	}
	return strconv.FormatInt(n, 10), nil
}

const hexDigits = "0123456789abcdef"

// writeString escapes what Python's json.dumps(ensure_ascii=False) escapes.
func writeString(buf *bytes.Buffer, s string) error {
	if !utf8.ValidString(s) {
		return errJSON
	}
	buf.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			buf.WriteString(`\"`)
		case '\\':
			buf.WriteString(`\\`)
		case '\n':
			buf.WriteString(`\n`)
		case '\r':
			buf.WriteString(`\r`)
		case '\t':
			buf.WriteString(`\t`)
		case '\b':
			buf.WriteString(`\b`)
		case '\f':
			buf.WriteString(`\f`)
		default:
			if c < 0x20 {
				buf.WriteString(`\u00`)
				buf.WriteByte(hexDigits[c>>4])
				buf.WriteByte(hexDigits[c&0xf])
			} else {
				buf.WriteByte(c)
			}
		}
	}
	buf.WriteByte('"')
	return nil
}
