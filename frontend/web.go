package main

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/udaconnect/udaconnect/shared/server"
)

// dist is the web app as `npm run build` leaves it in web/dist; without a
// build there, the door serves a page that says how to make one.
//
//go:embed all:web/dist
var dist embed.FS

func webApp() http.Handler {
	files, _ := fs.Sub(dist, "web/dist")
	return serveWeb(files)
}

// serveWeb serves the web app in files: its assets, its manifest (which
// makes it installable) and icons, and index.html for every other path.
func serveWeb(files fs.FS) http.Handler {
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		index = []byte(`<!doctype html><meta charset="utf-8"><title>UdaConnect</title>
<h1>UdaConnect</h1><p>The web app is not built into this binary: run <code>make web</code>, then build the door again.
The API is at <a href="/api/docs">/api/docs</a>.</p>`)
	}
	static := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		switch {
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD")
			server.WriteJSON(w, http.StatusMethodNotAllowed, server.ErrorBody{Error: "the web app is read with GET"})
			return
		case strings.HasPrefix(name, "api/"), name == "events", strings.HasPrefix(name, "events/"):
			server.WriteJSON(w, http.StatusNotFound, errNoRoute)
			return
		case name == "" || !exists(files, name):
			// The root and the app's own routes get the app.
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write(index)
			return
		}
		if strings.HasPrefix(name, "assets/") {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		if path.Ext(name) == ".webmanifest" { // a type Go's own table does not hold
			w.Header().Set("Content-Type", "application/manifest+json")
		}
		static.ServeHTTP(w, r)
	})
}

var errNoRoute = server.ErrorBody{Error: "no such route: see /api/docs"}

// refuseOthers answers, on mux, what none of patterns ("METHOD /path")
// serves in JSON, as every other error: 405 with the methods a known path
// takes (HEAD with GET), 404 for any other path.
func refuseOthers(mux *http.ServeMux, patterns []string) {
	allow := map[string][]string{}
	for _, p := range patterns {
		method, path, _ := strings.Cut(p, " ")
		allow[path] = append(allow[path], method)
		if method == http.MethodGet {
			allow[path] = append(allow[path], http.MethodHead)
		}
	}
	for path, methods := range allow {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			server.WriteJSON(w, http.StatusMethodNotAllowed, server.ErrorBody{Error: fmt.Sprintf("%s takes %s only", path, strings.Join(methods, ", "))})
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		server.WriteJSON(w, http.StatusNotFound, errNoRoute)
	})
}

func exists(files fs.FS, name string) bool {
	info, err := fs.Stat(files, name)
	return err == nil && !info.IsDir()
}
