package detect

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/apitap/apitap/sensor/secret"
)

// sample is one labelled input. For a positive, class is what must be
// reported; for a negative (class "" or the detector it is meant to fool)
// nothing at all may be reported.
type sample struct {
	class string
	pos   bool
	part  string // json, text, header:<name>, cookie, form, query, path
	input string
}

func (s sample) scan(sc *Scanner) map[string]bool {
	got := map[string]bool{}
	fn := func(m *Match) { got[m.Class] = true }
	switch {
	case s.part == "json":
		sc.ScanJSON(DirRequest, []byte(s.input), fn)
	case s.part == "text":
		sc.ScanBody(DirResponse, "text/plain", []byte(s.input), fn)
	case s.part == "form":
		sc.ScanForm(PosBody, DirRequest, []byte(s.input), fn)
	case s.part == "query":
		sc.ScanQuery(DirRequest, s.input, fn)
	case s.part == "path":
		sc.ScanPath(DirRequest, s.input, fn)
	case s.part == "cookie":
		sc.ScanHeader(DirRequest, "cookie", s.input, fn)
	case strings.HasPrefix(s.part, "header:"):
		sc.ScanHeader(DirRequest, strings.TrimPrefix(s.part, "header:"), s.input, fn)
	default:
		panic("unknown part " + s.part)
	}
	return got
}

const perDetector = 12 // generated positives per generator

func positives(g *gen) []sample {
	var out []sample
	add := func(class, part, in string) { out = append(out, sample{class, true, part, in}) }
	for i := 0; i < perDetector; i++ {
		jwt := g.jwt(fmt.Sprintf(`{"iss":"https://auth.example.test","sub":"%s","exp":%d}`,
			g.uuid(), 1700000000+g.r.IntN(1e6)))
		add(ClassJWT, "header:authorization", "Bearer "+jwt)
		add(ClassJWT, "json", `{"id_token":"`+jwt+`"}`)
		add(ClassJWT, "cookie", "theme=dark; auth="+jwt)

		add(ClassBearerToken, "header:authorization", "Bearer "+g.mixed(40, alnum+"-._~"))
		add(ClassBasicAuth, "header:authorization", "Basic "+
			base64.StdEncoding.EncodeToString([]byte("svc-"+g.str(6, alnum)+":"+g.mixed(14, alnum))))

		add(ClassSessionCookie, "cookie", "_ga=GA1.2.33.44; PHPSESSID="+g.str(26, "abcdefghijklmnopqrstuv0123456789"))
		add(ClassSessionCookie, "cookie", "JSESSIONID="+g.str(32, "0123456789ABCDEF"))
		add(ClassSessionCookie, "cookie", "connect.sid=s%3A"+g.mixed(32, alnum)+"."+g.mixed(43, alnum))
		add(ClassSessionCookie, "cookie", "lang=en; _shop_session="+g.mixed(60, alnum)+"%3D%3D--"+
			g.str(40, hexLower))

		add(ClassAWSAccessKey, "text", "aws_access_key_id = AKIA"+g.str(16, base32U)+"\n")
		add(ClassAWSAccessKey, "header:authorization", "AWS4-HMAC-SHA256 Credential=ASIA"+
			g.str(16, base32U)+"/20240101/us-east-1/s3/aws4_request, SignedHeaders=host")
		add(ClassGitHubToken, "header:authorization", "token "+g.crcToken("ghp_"))
		add(ClassGitHubToken, "json", `{"config":"GITHUB_TOKEN=`+g.crcToken("ghs_")+`"}`)
		add(ClassGitHubPAT, "text", "use github_pat_"+g.mixed(22, alnum)+"_"+g.mixed(59, alnum))
		add(ClassStripeKey, "form", "amount=100&key=sk_live_"+g.mixed(24, alnum))
		add(ClassStripeKey, "json", `{"publishable":"pk_test_`+g.mixed(34, alnum)+`"}`)
		add(ClassOpenAIKey, "header:authorization", "Bearer sk-proj-"+g.mixed(48, alnum+"-_"))
		add(ClassOpenAIKey, "json", `{"k":"sk-`+g.mixed(48, alnum)+`"}`)
		add(ClassAnthropicKey, "header:x-api-key", "sk-ant-api03-"+g.mixed(93, alnum+"-_")+"AA")
		add(ClassSlackToken, "form", "token=xoxb-"+g.digits(12)+"-"+g.digits(13)+"-"+g.mixed(24, alnum))
		add(ClassSlackWebhook, "json", `{"url":"https://hooks.slack.com/services/T`+
			g.str(10, alnum[:36])+"/B"+g.str(10, alnum[:36])+"/"+g.mixed(24, alnum)+`"}`)
		add(ClassGoogleAPIKey, "query", "q=pizza&key=AIza"+g.mixed(35, alnum+"-_"))
		add(ClassTwilio, "text", "sid AC"+g.str(32, hexLower)+" key SK"+g.str(32, hexLower))
		add(ClassSendGridKey, "header:authorization", "Bearer SG."+g.mixed(22, alnum+"-_")+"."+
			g.mixed(43, alnum+"-_"))
		add(ClassNPMToken, "text", "//registry.npmjs.org/:_authToken="+g.crcToken("npm_"))
		add(ClassGitLabToken, "header:private-token", "glpat-"+g.mixed(20, alnum+"-_"))
		add(ClassHuggingFace, "header:authorization", "Bearer hf_"+g.mixed(34, alnum))
		add(ClassShopifyToken, "header:x-shopify-access-token", "shpat_"+g.str(32, hexLower))
		add(ClassDigitalOcean, "text", "DIGITALOCEAN_TOKEN=dop_v1_"+g.str(64, hexLower))
		add(ClassPyPIToken, "form", "password=pypi-AgEIcHlwaS5vcmc"+g.mixed(70, alnum+"-_"))
		add(ClassGenericSecret, "json", `{"client_secret":"`+g.mixed(32, alnum+"-_")+`"}`)
		add(ClassGenericSecret, "form", "user=bob&password="+g.mixed(12, alnum+"!#"))
		add(ClassGenericSecret, "header:x-upstream-token", g.str(40, hexLower))

		first := []string{"Jane", "Omar", "Ana María", "Li", "Zoë", "Jean-Luc"}[i%6]
		last := []string{"Doe", "Haddad", "García", "Wei", "O'Brien", "Picard"}[i%6]
		dom := []string{"example.com", "mail.example.org", "example.co.uk", "corp.example.io"}[i%4]
		add(ClassEmail, "json", `{"email":"`+strings.ToLower(last)+"."+g.digits(3)+"@"+dom+`"}`)
		add(ClassEmail, "text", "Contact: "+strings.ToLower(first[:2])+"+tag@"+dom+".")
		add(ClassEmail, "query", "utm=x&email="+strings.ToLower(last)+"%40"+dom)
		add(ClassPhone, "json", `{"phone":"+1415555`+g.digits(4)+`"}`)
		add(ClassPhone, "json", `{"mobile":"(415) 555-`+g.digits(4)+`"}`)
		add(ClassPhone, "form", "phone_number=020+7946+"+g.digits(4))
		add(ClassPhone, "json", `{"contact":"+44 20 7946 `+g.digits(4)+`"}`)
		visa, mc, amex := g.card("4", 16), g.card("5"+g.str(1, "12345"), 16), g.card("37", 15)
		add(ClassPaymentCard, "json", `{"card_number":"`+visa+`"}`)
		add(ClassPaymentCard, "json", `{"pan":`+mc+`}`)
		add(ClassPaymentCard, "text", "paid with "+groupCard(visa, " ", 4, 4, 4, 4)+" today")
		add(ClassPaymentCard, "text", "amex "+groupCard(amex, "-", 4, 6, 5))
		cc := []string{"DE", "GB", "FR", "NL", "ES", "IT", "CH", "PL"}[i%8]
		iban := g.iban(cc)
		add(ClassIBAN, "json", `{"iban":"`+iban+`"}`)
		add(ClassIBAN, "text", "IBAN "+iban)
		add(ClassUSSSN, "text", "ssn "+g.ssn()+" on file")
		add(ClassUSSSN, "json", `{"ssn":"`+strings.ReplaceAll(g.ssn(), "-", "")+`"}`)
		ip := fmt.Sprintf("%d.%d.%d.%d", 1+g.r.IntN(223), g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
		add(ClassIPAddress, "json", `{"client_ip":"`+ip+`"}`)
		add(ClassIPAddress, "text", "login from "+ip+" blocked")
		add(ClassPersonName, "json", `{"first_name":"`+first+`","last_name":"`+last+`"}`)
		add(ClassPersonName, "json", `{"customer":{"name":"`+first+" "+last+`","tier":"gold"}}`)
		add(ClassStreetAddress, "json", `{"address_line1":"`+g.digits(3)+` Baker Street"}`)
		add(ClassStreetAddress, "json", `{"shipping":{"street":"Hauptstraße `+g.digits(2)+`"}}`)
		y, m, d := 1940+g.r.IntN(65), 1+g.r.IntN(12), 1+g.r.IntN(28)
		add(ClassDateOfBirth, "json", fmt.Sprintf(`{"dob":"%d-%02d-%02d"}`, y, m, d))
		add(ClassDateOfBirth, "form", fmt.Sprintf("birth_date=%02d%%2F%02d%%2F%d", d, m, y))
		add(ClassUserID, "json", `{"event":"signup","distinct_id":"`+g.uuid()+`"}`)
		add(ClassUserID, "query", "userId="+g.digits(7))
		add(ClassUserID, "json", `{"user":{"id":"usr_`+g.str(10, alnum)+`"}}`)
		add(ClassAccountID, "json", `{"account_id":"acct_`+g.str(16, alnum)+`"}`)
		add(ClassOrgID, "json", `{"properties":{"org_id":"org-`+g.str(12, alnum)+`"}}`)
		add(ClassOrgID, "header:openai-organization", "org-"+g.str(24, alnum))
		add(ClassOrgID, "form", "tenant_id="+g.uuid())
		add(ClassGeoLocation, "json", fmt.Sprintf(`{"lat":%d.%04d,"lng":-%d.%04d}`,
			g.r.IntN(90), g.r.IntN(1e4), g.r.IntN(180), g.r.IntN(1e4)))
		add(ClassGeoLocation, "json", `{"$geoip_city_name":"x","city":"`+[]string{"Berlin",
			"São Paulo", "New York", "Osaka"}[i%4]+`"}`)
	}
	return out
}

func negatives(g *gen) []sample {
	var out []sample
	add := func(class, part, in string) { out = append(out, sample{class, false, part, in}) }
	for i := 0; i < perDetector; i++ {
		u := g.uuid()
		add("", "json", `{"request_id":"`+u+`","trace":"`+g.str(32, hexLower)+`"}`)
		add("", "path", "/v1/orders/"+u+"/items")
		add("", "header:x-correlation-id", u)
		add(ClassPaymentCard, "json", `{"order_number":"`+g.card("4", 16)+`"}`)
		add(ClassPaymentCard, "text", "Order "+g.card("4", 16)+" shipped")
		add(ClassPaymentCard, "json", `{"card_number":"`+g.digits(15)+`1"}`[:0]+
			`{"tracking":"1Z`+g.str(16, alnum[:36])+`"}`)
		add("", "json", fmt.Sprintf(`{"created_at":"2024-%02d-%02dT12:34:56Z","ts":%d}`,
			1+g.r.IntN(12), 1+g.r.IntN(28), 1700000000000+g.r.Int64N(1e11)))
		add("", "text", fmt.Sprintf("%d", 1700000000+g.r.IntN(1e8)))
		add("", "json", `{"sha256":"`+g.str(64, hexLower)+`","commit":"`+g.str(40, hexLower)+`"}`)
		add(ClassGenericSecret, "json", `{"etag":"W/\"`+g.str(16, hexLower)+`\""}`)
		add("", "json", `{"data":"`+base64.StdEncoding.EncodeToString([]byte(g.str(300, alnum+"\x00\xff")))+`"}`)
		add(ClassIPAddress, "json", fmt.Sprintf(`{"version":"%d.%d.%d.%d"}`, g.r.IntN(20),
			g.r.IntN(20), g.r.IntN(20), g.r.IntN(200)))
		add(ClassIPAddress, "text", fmt.Sprintf("nginx/1.%d.%d", g.r.IntN(30), g.r.IntN(10)))
		add(ClassPhone, "json", fmt.Sprintf(`{"count":%d,"bytes":%d}`, 4155550000+g.r.IntN(9999), g.r.IntN(1e9)))
		add(ClassPhone, "text", "call 555-01"+g.digits(2)+" now")
		add(ClassUSSSN, "text", []string{"000", "666", "900", "987"}[i%4]+"-12-3456")
		add(ClassUSSSN, "text", "123-00-"+g.digits(4)+" and 2024-01-15")
		bad := []byte(g.iban("DE"))
		bad[5] = '0' + (bad[5]-'0'+1)%10
		add(ClassIBAN, "text", "IBAN "+string(bad))
		add(ClassGitHubToken, "text", "ghp_"+g.mixed(36, alnum))
		add(ClassOpenAIKey, "text", "sk-this-is-not-a-real-key and sk-"+g.str(8, alnum))
		add(ClassGenericSecret, "json", `{"token_type":"Bearer","expires_in":3600,"max_tokens":1024}`)
		add(ClassGenericSecret, "json", `{"next_page_token":"`+g.mixed(40, alnum)+`","csrf_token":"`+g.mixed(40, alnum)+`"}`)
		add(ClassGenericSecret, "json", `{"password_updated_at":"2024-05-01T12:34:56Z","password":"********"}`)
		add(ClassGenericSecret, "json", `{"token_url":"https://auth.example.com/oauth2/token"}`)
		add(ClassPersonName, "json", `{"name":"production-cluster-`+g.digits(2)+`","region":"us-east-1"}`)
		add(ClassStreetAddress, "json", `{"address":"0x`+g.str(40, hexLower)+`"}`)
		add(ClassEmail, "text", `<img src="logo@2x.png"> and user@localhost`)
		add(ClassSessionCookie, "cookie", "_ga=GA1.2."+g.digits(10)+"."+g.digits(10)+"; theme=dark; lang=en-US")
		add(ClassBearerToken, "header:authorization", []string{"Bearer null", "Bearer undefined", "Bearer"}[i%3])
		add(ClassJWT, "text", "eyJ"+g.str(40, b64url)+"."+g.str(30, b64url)+"."+g.str(20, b64url))
		add(ClassPaymentCard, "text", groupCard(func() string { c := []byte(g.card("4", 16)); c[15] = '0' + (c[15]-'0'+1)%10; return string(c) }(), "-", 4, 4, 4, 4))
		add(ClassGeoLocation, "json", `{"lat":1,"status":"ok"}`)
		add("", "text", "The quick brown fox jumps over the lazy dog, version 3 of 10.")
		add(ClassAWSAccessKey, "text", "AKIA"+g.str(16, base32U)+g.str(4, base32U))
		add("", "json", `{"img":"data:image/png;base64,`+base64.StdEncoding.EncodeToString([]byte(g.str(200, alnum+"\x01\xfe+/")))+`"}`)
		add("", "path", "/static/js/main."+g.str(8, hexLower)+".chunk.js")
		add("", "path", "/assets/"+g.mixed(20, alnum)+"/logo@2x.png")
		add(ClassEmail, "text", "@media screen { a { color: red } } npm i @scope/pkg@1.2."+g.digits(1))
		add(ClassPaymentCard, "json", `{"imei":"`+g.card("35", 15)+`","isbn":"978`+g.digits(10)+`"}`)
		add(ClassPhone, "json", `{"tz":"+05:30","offset":"+0530","delta":"+1`+g.digits(7)+`"}`)
		add(ClassGenericSecret, "json", `{"token":"N/A","secret":"pending","api_key":null,"password":""}`)
		add(ClassSessionCookie, "cookie", "session=1; sessionid=true; sid=abc")
		add(ClassUserID, "json", `{"user_id":null,"account_id":"","org_id":false}`)
		add(ClassIPAddress, "json", `{"sdk_version":"1.2.3.4","os_version":"10.0.0.1"}`)
		add(ClassJWT, "text", "token eyJhbGciOiJIUzI1NiJ9.e30 is cut")
		add("", "query", "page=2&per_page=50&sort=-created_at&filter%5Bstatus%5D=open&cursor="+g.mixed(24, alnum))
		add("", "form", "grant_type=authorization_code&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state="+g.str(8, alnum))
		add("", "text", "<html><body><h1>404 Not Found</h1><p>nginx/1.25."+g.digits(1)+"</p></body></html>")
	}
	return out
}

type score struct{ tp, fp, fn int }

// TestLabelled measures precision and recall per detector on generated
// positives and hard negatives, and fails under 0.95 or over 1 % FP.
func TestLabelled(t *testing.T) {
	g := newGen(20261203)
	sc := NewScanner(secret.Key{})
	scores := map[string]*score{}
	get := func(c string) *score {
		if scores[c] == nil {
			scores[c] = &score{}
		}
		return scores[c]
	}

	for _, s := range positives(g) {
		got := s.scan(sc)
		if got[s.class] {
			get(s.class).tp++
		} else {
			get(s.class).fn++
			t.Logf("missed %s in %s: %.80q", s.class, s.part, s.input)
		}
	}
	negs, negHits := negatives(g), 0
	for _, s := range negs {
		got := s.scan(sc)
		if len(got) > 0 {
			negHits++
			for c := range got {
				get(c).fp++
			}
			t.Logf("false positive %v in %s: %.100q", keys(got), s.part, s.input)
		}
	}

	names := make([]string, 0, len(scores))
	for c := range scores {
		names = append(names, c)
	}
	sort.Strings(names)
	t.Logf("%-20s %5s %5s %5s %9s %7s", "detector", "tp", "fp", "fn", "precision", "recall")
	for _, c := range names {
		s := scores[c]
		p, r := ratio(s.tp, s.tp+s.fp), ratio(s.tp, s.tp+s.fn)
		t.Logf("%-20s %5d %5d %5d %9.3f %7.3f", c, s.tp, s.fp, s.fn, p, r)
		if p < 0.95 || r < 0.95 {
			t.Errorf("detector %s: precision %.3f, recall %.3f; want both >= 0.95", c, p, r)
		}
	}
	for _, c := range Classes() {
		if _, ok := scores[c]; !ok {
			t.Errorf("class %s has no labelled positives", c)
		}
	}
	rate := float64(negHits) / float64(len(negs))
	t.Logf("negatives: %d, with any match: %d (%.2f%%)", len(negs), negHits, 100*rate)
	if rate > 0.01 {
		t.Errorf("false positive rate on negatives: got %.2f%%; want <= 1%%", 100*rate)
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
