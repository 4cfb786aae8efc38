package setup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Folders and files of an export, relative to its directory.
const (
	ComponentTemplatesDir = "component_templates"
	IndexTemplatesDir     = "index_templates"
	ISMPoliciesDir        = "ism_policies"
	WriteAliasesDir       = "write_aliases"
	DashboardsFile        = "dashboards.ndjson"
)

// Export returns the files of a plan for manual installation, by path
// relative to the export directory: one JSON file per component template,
// index template, ISM policy and write alias (the body of each PUT request),
// and the saved objects as NDJSON for the Dashboards import.
func Export(p *Plan) (map[string][]byte, error) {
	files := map[string][]byte{}
	put := func(dir string, o Object) error {
		b := o.Source
		if b == nil {
			var err error
			if b, err = json.MarshalIndent(o.Body, "", "  "); err != nil {
				return fmt.Errorf("encoding %s %s: %w", o.Kind, o.Name, err)
			}
			b = append(b, '\n')
		}
		name := o.Name
		if o.Kind == KindWriteAlias {
			name = o.Index // the body creates this index with the alias
		}
		files[filepath.ToSlash(filepath.Join(dir, name+".json"))] = b
		return nil
	}
	groups := []struct {
		dir  string
		objs []Object
	}{
		{ComponentTemplatesDir, p.Components},
		{IndexTemplatesDir, p.IndexTemplates},
		{ISMPoliciesDir, p.Policies},
		{WriteAliasesDir, p.WriteAliases},
	}
	for _, g := range groups {
		for _, o := range g.objs {
			if err := put(g.dir, o); err != nil {
				return nil, err
			}
		}
	}
	nd, err := NDJSON(p.SavedObjects)
	if err != nil {
		return nil, err
	}
	files[DashboardsFile] = nd
	return files, nil
}

// GeneratedDirs are the folders of an export that WriteExport replaces
// whole.
var GeneratedDirs = []string{ComponentTemplatesDir, IndexTemplatesDir, ISMPoliciesDir, WriteAliasesDir}

// WriteExport writes the files of Export under dir, replacing the folders it
// generates (so objects no longer planned disappear) and leaving other
// files, such as a README, alone.
func WriteExport(dir string, files map[string][]byte) error {
	for _, d := range GeneratedDirs {
		if err := os.RemoveAll(filepath.Join(dir, d)); err != nil {
			return fmt.Errorf("clearing %s: %w", filepath.Join(dir, d), err)
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", filepath.Dir(p), err)
		}
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, files[n]) {
			continue
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
	}
	return nil
}
