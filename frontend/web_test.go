package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
)

// The web app's files are served with their types: the manifest as a web
// app manifest, which browsers need to install the app, the icons as
// images, and the app's own routes as its page.
func TestWebAppTypes(t *testing.T) {
	web := serveWeb(fstest.MapFS{
		"index.html":              {Data: []byte("<!doctype html><title>UdaConnect</title>")},
		"manifest.webmanifest":    {Data: []byte(`{"name":"UdaConnect"}`)},
		"icons/icon-192.png":      {Data: []byte("\x89PNG\r\n\x1a\n")},
		"icons/icon.svg":          {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		"assets/index-abc123.js":  {Data: []byte("export {}")},
		"assets/index-abc123.css": {Data: []byte("body{}")},
	})
	for _, tt := range []struct{ path, want string }{
		{"/manifest.webmanifest", "application/manifest+json"},
		{"/icons/icon-192.png", "image/png"},
		{"/icons/icon.svg", "image/svg+xml"},
		{"/assets/index-abc123.js", "text/javascript; charset=utf-8"},
		{"/assets/index-abc123.css", "text/css; charset=utf-8"},
		{"/persons/12", "text/html; charset=utf-8"},
	} {
		w := httptest.NewRecorder()
		web.ServeHTTP(w, httptest.NewRequest("GET", tt.path, nil))
		if got := w.Header().Get("Content-Type"); w.Code != http.StatusOK || got != tt.want {
			t.Errorf("GET %s = %d, Content-Type %q; want 200, %q", tt.path, w.Code, got, tt.want)
		}
	}
}
