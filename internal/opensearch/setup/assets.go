package setup

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed templates/*.json
var templateFS embed.FS

// BaseComponent is the component template every Vigil index is composed
// of: ECS field types and the settings shared by all log indices.
const BaseComponent = "vigil-ecs"

// component is one embedded component template.
type component struct {
	name    string         // component template name (the file name without .json)
	body    map[string]any // the body sent to PUT /_component_template/<name>
	raw     []byte         // the file as written
	indices []string       // _meta.indices: the index names it is added to
}

// loadComponents reads the embedded component templates, sorted by name. A
// file that is not a valid template is an error naming it (it is caught by
// the package's tests, never by users).
func loadComponents() ([]component, error) {
	entries, err := fs.ReadDir(templateFS, "templates")
	if err != nil {
		return nil, fmt.Errorf("reading the embedded templates: %w", err)
	}
	var out []component
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := path.Join("templates", e.Name())
		b, err := templateFS.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		c := component{name: strings.TrimSuffix(e.Name(), ".json"), body: body, raw: b}
		if _, ok := body["template"].(map[string]any); !ok {
			return nil, fmt.Errorf("reading %s: no \"template\" object", p)
		}
		if meta, ok := body["_meta"].(map[string]any); ok {
			if list, ok := meta["indices"].([]any); ok {
				for _, v := range list {
					s, ok := v.(string)
					if !ok || s == "" {
						return nil, fmt.Errorf("reading %s: _meta.indices holds %v, want index names", p, v)
					}
					c.indices = append(c.indices, s)
				}
			}
		}
		if c.name != BaseComponent && len(c.indices) == 0 {
			return nil, fmt.Errorf("reading %s: _meta.indices is empty: the component would not be used", p)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}
