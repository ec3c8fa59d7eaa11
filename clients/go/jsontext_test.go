package licentia

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand"
	"os"
	"reflect"
	"strings"
	"testing"
)

// decodedByEncodingJSON is what parseJSON answered before jsontext.go: the reference it must match.
func decodedByEncodingJSON(data []byte) (any, error) {
	if err := precheck(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var value any
	if err := dec.Decode(&value); err != nil {
		return nil, errJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errJSON
	}
	return value, nil
}

var jsonTexts = []string{
	``, ` `, `null`, `true`, `false`, `nul`, `truex`, `0`, `-0`, `01`, `-`, `1.`, `.5`, `1.5e`, `1e+`, `1E-7`,
	`-12.50e+3`, `123456789012345678901234567890`, `"`, `""`, `"a`, `"\"`, `"\q"`, `"\/\b\f\n\r\t\\\""`,
	"\"tab\there\"", `"\u00e9\u00E9"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00"`, `"\ud83dx"`, `"\u12"`, `"\u12g4"`,
	`"é ✓ 😀"`, "\"\xff\"", `[]`, `[ ]`, `[1,]`, `[,1]`, `[1 2]`, `[1,[2,[3]]]`, `{}`, `{ }`, `{"a":1,}`, `{"a" 1}`,
	`{"a":1 "b":2}`, `{a:1}`, `{"a":1,"a":2}`, `{"a":{"b":[null,true,"x",-1.5]}}`, ` {"k" : [ 1 , 2 ] } `,
	`{"a":1}x`, `{"a":1} {}`, `[1]]`, `{"a":1}}`, "\n\t\r 7 \n", `"\u0000"`, `{"\u00e9":"key"}`, `[` + strings.Repeat(`[`, 600) + `]`,
	`{"format":2,"device":"d","secret":"s","state":"{\"signed\":{\"document\":{\"x\":1}},\"token\":null}","mac":"m"}`,
}

func sameAsEncodingJSON(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := decodedByEncodingJSON(data)
	got, err := parseJSON(data)
	if (err != nil) != (wantErr != nil) || !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: read %#v (%v), encoding/json %#v (%v)", data, got, err, want, wantErr)
	}
}

func TestReadJSONAcceptsAndBuildsWhatEncodingJSONDoes(t *testing.T) {
	texts := append([]string{}, jsonTexts...)
	if vectors, err := os.ReadFile("../../conformance/vectors.json"); err == nil {
		texts = append(texts, string(vectors))
	}
	for _, text := range texts {
		sameAsEncodingJSON(t, []byte(text))
	}
	// Random damage to each text: bytes replaced, dropped, doubled, cut.
	random := rand.New(rand.NewSource(31))
	const alphabet = "{}[],:\"\\ -+.eE0123456789abcdefnrtulsu\x01\xc3\xa9"
	for _, text := range texts {
		if len(text) > 4096 {
			text = text[:4096]
		}
		for i := 0; i < 300 && len(text) > 0; i++ {
			b := []byte(text)
			for k := random.Intn(3) + 1; k > 0; k-- {
				at := random.Intn(len(b))
				switch random.Intn(4) {
				case 0:
					b[at] = alphabet[random.Intn(len(alphabet))]
				case 1:
					b = append(b[:at:at], b[at+1:]...)
				case 2:
					b = append(b[:at+1:at+1], b[at:]...)
				default:
					b = b[:at]
				}
				if len(b) == 0 {
					break
				}
			}
			sameAsEncodingJSON(t, b)
		}
	}
}

func FuzzReadJSON(f *testing.F) {
	for _, text := range jsonTexts {
		f.Add([]byte(text))
	}
	f.Fuzz(func(t *testing.T, data []byte) { sameAsEncodingJSON(t, data) })
}
