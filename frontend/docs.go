package main

import (
	_ "embed"
	"html/template"
	"net/http"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

//go:embed openapi.yaml
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPI)
}

// apiDoc is the part of the OpenAPI document the docs page shows.
type apiDoc struct {
	Info struct {
		Title, Version, Description string
	}
	Paths map[string]map[string]struct {
		Summary, Description string
		Parameters           []struct {
			Ref         string `json:"$ref"`
			Name, In    string
			Required    bool
			Description string
		}
		Responses map[string]struct {
			Ref         string `json:"$ref"`
			Description string
		}
	}
}

// operations lists the document's operations as "METHOD /path", sorted.
func (d apiDoc) operations() []string {
	var ops []string
	for path, methods := range d.Paths {
		for method := range methods {
			ops = append(ops, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(ops)
	return ops
}

func parseAPIDoc() (apiDoc, error) {
	var d apiDoc
	err := yaml.Unmarshal(openAPI, &d)
	return d, err
}

var docsPage = template.Must(template.New("docs").Funcs(template.FuncMap{
	"upper": strings.ToUpper,
	"ref":   func(s string) string { return s[strings.LastIndex(s, "/")+1:] },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Info.Title}}</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2733}
h2{margin-top:2rem;font-size:1.1rem}code,.m{font-family:ui-monospace,monospace}
.m{display:inline-block;min-width:3.5rem;padding:0 .4rem;border-radius:4px;color:#fff;background:#2f6f4f}
.m.POST{background:#8a4b14}table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.2rem .6rem;border-bottom:1px solid #dde3ea;text-align:left;vertical-align:top}
</style></head><body>
<h1>{{.Info.Title}} <small>{{.Info.Version}}</small></h1>
<p>{{.Info.Description}}</p>
<p>The whole document: <a href="/api/openapi.yaml">/api/openapi.yaml</a> (OpenAPI 3).</p>
{{range $path, $methods := .Paths}}{{range $method, $op := $methods}}
<h2><span class="m {{upper $method}}">{{upper $method}}</span> <code>{{$path}}</code></h2>
<p>{{$op.Summary}}</p>{{with $op.Description}}<p>{{.}}</p>{{end}}
{{with $op.Parameters}}<table><tr><th>parameter</th><th>in</th><th></th></tr>
{{range .}}<tr>{{if .Ref}}<td colspan="3"><code>{{ref .Ref}}</code> (see the document)</td>{{else}}<td><code>{{.Name}}</code>{{if .Required}} *{{end}}</td><td>{{.In}}</td><td>{{.Description}}</td>{{end}}</tr>
{{end}}</table>{{end}}
<table><tr><th>status</th><th></th></tr>{{range $status, $r := $op.Responses}}<tr><td>{{$status}}</td><td>{{if $r.Ref}}{{ref $r.Ref}}{{else}}{{$r.Description}}{{end}}</td></tr>{{end}}</table>
{{end}}{{end}}
</body></html>`))

func serveDocs(w http.ResponseWriter, r *http.Request) {
	d, err := parseAPIDoc()
	if err != nil {
		http.Error(w, "the API document cannot be read", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = docsPage.Execute(w, d)
}
