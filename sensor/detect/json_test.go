package detect

import (
	"strings"
	"testing"
)

type tokDump struct {
	kind TokenKind
	text string
}

func tokenize(in string) ([]tokDump, bool) {
	var t Tokenizer
	t.Reset([]byte(in))
	var out []tokDump
	for range len(in) + 2 {
		k := t.Next()
		if k == TokEnd || k == TokError {
			out = append(out, tokDump{k, ""})
			return out, t.Truncated
		}
		out = append(out, tokDump{k, in[t.Start:t.End]})
	}
	return out, t.Truncated
}

func TestTokenizer(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      []tokDump
		truncated bool
	}{
		{"object", `{"a":"x","b":12.5e3,"c":[true,null],"d":{}}`, []tokDump{
			{TokObjectOpen, "{"}, {TokKey, "a"}, {TokString, "x"}, {TokKey, "b"},
			{TokNumber, "12.5e3"}, {TokKey, "c"}, {TokArrayOpen, "["}, {TokLiteral, "true"},
			{TokLiteral, "null"}, {TokArrayClose, "]"}, {TokKey, "d"}, {TokObjectOpen, "{"},
			{TokObjectClose, "}"}, {TokObjectClose, "}"}, {TokEnd, ""},
		}, false},
		{"escaped quote", `["a\"b"]`, []tokDump{
			{TokArrayOpen, "["}, {TokString, `a\"b`}, {TokArrayClose, "]"}, {TokEnd, ""},
		}, false},
		{"truncated string", `{"k":"abc`, []tokDump{
			{TokObjectOpen, "{"}, {TokKey, "k"}, {TokEnd, ""},
		}, true},
		{"truncated number", `{"k":123`, []tokDump{
			{TokObjectOpen, "{"}, {TokKey, "k"}, {TokEnd, ""},
		}, true},
		{"truncated literal", `[tru`, []tokDump{{TokArrayOpen, "["}, {TokEnd, ""}}, true},
		{"mismatched close", `{]`, []tokDump{{TokObjectOpen, "{"}, {TokError, ""}}, false},
		{"garbage", `{"a":xyz}`, []tokDump{{TokObjectOpen, "{"}, {TokKey, "a"}, {TokError, ""}}, false},
		{"ndjson", "{\"a\":1}\n{\"a\":2}", []tokDump{
			{TokObjectOpen, "{"}, {TokKey, "a"}, {TokNumber, "1"}, {TokObjectClose, "}"},
			{TokObjectOpen, "{"}, {TokKey, "a"}, {TokNumber, "2"}, {TokObjectClose, "}"},
			{TokEnd, ""},
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, trunc := tokenize(tt.in)
			if len(got) != len(tt.want) {
				t.Fatalf("tokenize(%q): got %v; want %v", tt.in, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("tokenize(%q) token %d: got %v; want %v", tt.in, i, got[i], tt.want[i])
				}
			}
			if trunc != tt.truncated {
				t.Errorf("tokenize(%q) truncated: got %v; want %v", tt.in, trunc, tt.truncated)
			}
		})
	}
}

func TestTokenizerDepth(t *testing.T) {
	in := strings.Repeat("[", MaxJSONDepth) + "1" + strings.Repeat("]", MaxJSONDepth)
	got, _ := tokenize(in)
	if last := got[len(got)-1]; last.kind != TokEnd {
		t.Errorf("depth %d: got last token %v; want TokEnd", MaxJSONDepth, last)
	}
	got, _ = tokenize("[" + in + "]")
	if last := got[len(got)-1]; last.kind != TokError {
		t.Errorf("depth %d: got last token %v; want TokError", MaxJSONDepth+1, last)
	}
}

func TestUnescape(t *testing.T) {
	tests := []struct{ in, want string }{
		{`plain`, "plain"},
		{`a\nb\t\"c\"\\\/`, "a\nb\t\"c\"\\/"},
		{`\u0041\u00e9\u4e2d`, "Aé中"},
		{`\ud83d\ude00`, "😀"},
		{`\ud83d`, "\uFFFD"},
		{`\uZZZZ`, `\uZZZZ`},
		{`trailing\`, `trailing\`},
	}
	for _, tt := range tests {
		if got := string(Unescape(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("Unescape(%q): got %q; want %q", tt.in, got, tt.want)
		}
	}
}
