package licentia

// A JSON text read into the values parseJSON promises (nil, bool, string,
// json.Number, []any, map[string]any), in one pass over the bytes.
//
// encoding/json scans a text twice (once to find its end, once to build it)
// and boxes every value through reflection: for the state file, read at every
// offline check, that was a tenth of the check. This reader accepts exactly
// what encoding/json accepts once precheck has run (UTF-8 only, no lone
// surrogate escapes, at most maxDepth deep); jsontext_test.go compares the two
// on the vectors, hostile texts and random mutations of them.

import (
	"encoding/json"
	"unicode/utf16"
	"unicode/utf8"
)

type jsonReader struct {
	data []byte
	at   int
}

// readJSON reads data, already prechecked, as one JSON value with only white space around it.
func readJSON(data []byte) (any, error) {
	r := jsonReader{data: data}
	value, err := r.value()
	if err != nil {
		return nil, err
	}
	if r.space(); r.at != len(r.data) {
		return nil, errJSON // extra data after the value
	}
	return value, nil
}

func (r *jsonReader) space() {
	for r.at < len(r.data) {
		switch r.data[r.at] {
		case ' ', '\t', '\n', '\r':
			r.at++
		default:
			return
		}
	}
}

// literal consumes word (true, false, null) at the current position.
func (r *jsonReader) literal(word string) bool {
	if len(r.data)-r.at < len(word) || string(r.data[r.at:r.at+len(word)]) != word {
		return false
	}
	r.at += len(word)
	return true
}

func (r *jsonReader) value() (any, error) {
	r.space()
	if r.at == len(r.data) {
		return nil, errJSON
	}
	switch c := r.data[r.at]; {
	case c == '{':
		return r.object()
	case c == '[':
		return r.array()
	case c == '"':
		return r.string()
	case c == '-' || (c >= '0' && c <= '9'):
		return r.number()
	case r.literal("true"):
		return true, nil
	case r.literal("false"):
		return false, nil
	case r.literal("null"):
		return nil, nil
	}
	return nil, errJSON
}

func (r *jsonReader) object() (any, error) {
	r.at++ // {
	fields := map[string]any{}
	r.space()
	if r.at < len(r.data) && r.data[r.at] == '}' {
		r.at++
		return fields, nil
	}
	for {
		r.space()
		if r.at == len(r.data) || r.data[r.at] != '"' {
			return nil, errJSON
		}
		key, err := r.string()
		if err != nil {
			return nil, err
		}
		if r.space(); r.at == len(r.data) || r.data[r.at] != ':' {
			return nil, errJSON
		}
		r.at++
		value, err := r.value()
		if err != nil {
			return nil, err
		}
		fields[key] = value // a repeated key: the last one wins
		if r.space(); r.at == len(r.data) {
			return nil, errJSON
		}
		switch r.data[r.at] {
		case ',':
			r.at++
		case '}':
			r.at++
			return fields, nil
		default:
			return nil, errJSON
		}
	}
}

func (r *jsonReader) array() (any, error) {
	r.at++ // [
	items := []any{}
	r.space()
	if r.at < len(r.data) && r.data[r.at] == ']' {
		r.at++
		return items, nil
	}
	for {
		item, err := r.value()
		if err != nil {
			return nil, err
		}
		items = append(items, item)
		if r.space(); r.at == len(r.data) {
			return nil, errJSON
		}
		switch r.data[r.at] {
		case ',':
			r.at++
		case ']':
			r.at++
			return items, nil
		default:
			return nil, errJSON
		}
	}
}

func digit(c byte) bool { return c >= '0' && c <= '9' }

// number keeps the literal's text (json.Number): -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *jsonReader) number() (any, error) {
	start := r.at
	digits := func() bool {
		from := r.at
		for r.at < len(r.data) && digit(r.data[r.at]) {
			r.at++
		}
		return r.at > from
	}
	if r.data[r.at] == '-' {
		r.at++
	}
	switch {
	case r.at < len(r.data) && r.data[r.at] == '0':
		r.at++
	case !digits():
		return nil, errJSON
	}
	if r.at < len(r.data) && r.data[r.at] == '.' {
		r.at++
		if !digits() {
			return nil, errJSON
		}
	}
	if r.at < len(r.data) && (r.data[r.at] == 'e' || r.data[r.at] == 'E') {
		r.at++
		if r.at < len(r.data) && (r.data[r.at] == '+' || r.data[r.at] == '-') {
			r.at++
		}
		if !digits() {
			return nil, errJSON
		}
	}
	return json.Number(r.data[start:r.at]), nil
}

// string reads a quoted string; a text without escapes is copied once.
func (r *jsonReader) string() (string, error) {
	r.at++ // "
	start := r.at
	for r.at < len(r.data) {
		switch c := r.data[r.at]; {
		case c == '"':
			s := string(r.data[start:r.at])
			r.at++
			return s, nil
		case c == '\\':
			return r.escaped(start)
		case c < 0x20:
			return "", errJSON
		default:
			r.at++
		}
	}
	return "", errJSON
}

var escapes = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// escaped finishes a string that holds an escape; its text so far is data[start:at].
func (r *jsonReader) escaped(start int) (string, error) {
	out := append(make([]byte, 0, 2*(r.at-start)+16), r.data[start:r.at]...)
	for r.at < len(r.data) {
		c := r.data[r.at]
		switch {
		case c == '"':
			r.at++
			return string(out), nil
		case c < 0x20:
			return "", errJSON
		case c != '\\':
			out = append(out, c)
			r.at++
			continue
		}
		if r.at+1 == len(r.data) {
			return "", errJSON
		}
		next := r.data[r.at+1]
		if next != 'u' {
			if escapes[next] == 0 {
				return "", errJSON
			}
			out = append(out, escapes[next])
			r.at += 2
			continue
		}
		code, ok := r.hex(r.at + 2)
		if !ok {
			return "", errJSON
		}
		r.at += 6
		if utf16.IsSurrogate(code) {
			// precheck let through only a high surrogate followed by a low one.
			low, ok := r.hex(r.at + 2)
			if !ok || r.at+1 >= len(r.data) || r.data[r.at] != '\\' || r.data[r.at+1] != 'u' {
				return "", errJSON
			}
			code = utf16.DecodeRune(code, low)
			r.at += 6
		}
		out = utf8.AppendRune(out, code)
	}
	return "", errJSON
}

// hex reads the four hex digits of a \u escape at data[at:].
func (r *jsonReader) hex(at int) (rune, bool) {
	if at+4 > len(r.data) {
		return 0, false
	}
	var code rune
	for _, c := range r.data[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		code = code<<4 | rune(c)
	}
	return code, true
}
