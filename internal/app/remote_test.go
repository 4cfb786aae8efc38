package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/store"
)

// TestRemoteCredentials checks what a command reading through a running
// vigil serve sends: the token when there is one, else the Basic
// credentials, and a hint naming both variables when refused.
func TestRemoteCredentials(t *testing.T) {
	tests := []struct {
		name, token, basic string
		want               string // the Authorization header
	}{
		{name: "token", token: "0123456789abcdef", basic: "ann:pw", want: "Bearer 0123456789abcdef"},
		{name: "basic", basic: "ann:s3cr:et", want: "Basic YW5uOnMzY3I6ZXQ="},
		{name: "none", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Header.Get("Authorization")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"error":"authentication required"}`))
			}))
			defer srv.Close()
			t.Setenv(envAuthToken, tt.token)
			t.Setenv(envBasicAuth, tt.basic)
			_, err := remoteFromEnv(srv.URL).Aggregate(context.Background(), store.AggRequest{Kind: store.AggCount})
			if got != tt.want {
				t.Errorf("Authorization %q, want %q", got, tt.want)
			}
			if err == nil || !strings.Contains(err.Error(), envAuthToken) || !strings.Contains(err.Error(), envBasicAuth) {
				t.Errorf("error %v does not say which variables to set", err)
			}
		})
	}
}
