package opensearch

import (
	"strings"
	"testing"
	"time"
)

// FuzzValidate: any URL and credentials validate or fail with an error that
// never shows the password.
func FuzzValidate(f *testing.F) {
	f.Add("https://admin:s3cretpw@localhost:9200", "", "s3cretpw", "")
	f.Add("search-x.us-east-1.es.amazonaws.com", "", "", "")
	f.Add("http://u:s3cretpw@h:port%zz", "", "", "")
	f.Add("ftp://x", "u", "s3cretpw", "aoss")
	f.Fuzz(func(t *testing.T, url, user, password, service string) {
		c := Config{URL: url, Username: user, Password: password, AWSService: service}
		err := c.Validate()
		secret := password
		if strings.Contains(url, password) {
			secret = "" // the text is not only a credential
		}
		if i := strings.Index(url, "://"); i >= 0 {
			if at := strings.LastIndex(url, "@"); at > i {
				if _, pw, ok := strings.Cut(url[i+3:at], ":"); ok {
					secret = pw
				}
			}
		}
		if len(secret) < 6 {
			return
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Fatalf("error %q shows the password", err)
		}
		if err == nil && (strings.Contains(c.URL, secret) || strings.Contains(c.String(), secret)) {
			t.Fatalf("config %s shows the password", c)
		}
	})
}

// FuzzParseRetryAfter: never negative, never a panic.
func FuzzParseRetryAfter(f *testing.F) {
	f.Add("120")
	f.Add("Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add("-5")
	f.Fuzz(func(t *testing.T, v string) {
		if d := ParseRetryAfter(v, time.Unix(1e9, 0)); d < 0 {
			t.Fatalf("%q gave %v", v, d)
		}
	})
}
