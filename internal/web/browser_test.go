package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/vigil-siem/vigil/internal/detect/alert"
	"github.com/vigil-siem/vigil/internal/store"
	"github.com/vigil-siem/vigil/internal/web"
)

// chromiumPath is where Debian installs Chromium.
const chromiumPath = "/usr/bin/chromium"

// The hostile strings the browser test plants in the data.
const (
	browserXSSScript = `<script>alert(1)</script>`
	browserXSSImg    = `"><img src=x onerror=alert(1)>`
)

// browserData is what the browser test runs against: a store with data,
// the time range (a quick-range key) that covers it, and the panels that
// may legitimately be empty over that data, with the reason.
type browserData struct {
	srv        *web.Server
	since      string
	allowEmpty map[string]string // "dashboard/panel" -> why
	// xssQuery finds the planted documents holding browserXSSScript (as
	// user.name of a CloudTrail event) and browserXSSImg.
	xssQuery string
	// bruteForce is the rule name of an open alert the store must hold,
	// with matched documents; the server can change alert statuses.
	bruteForce string
}

// panelInfo is what the page reports about one dashboard panel.
type panelInfo struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Viz    string `json:"viz"`
	Canvas bool   `json:"canvas"`
	Text   string `json:"text"`
}

// browserSession is one headless Chromium tab on the test server.
type browserSession struct {
	t         *testing.T
	ctx       context.Context
	base      string
	artifacts string
	mu        sync.Mutex
	dialogs   []string
	errors    []string
}

// TestBrowserConsole opens Discover and every dashboard in headless
// Chromium over a store with data, checks that charts render with data,
// that clicking values filters, that hostile values render as text, and
// saves screenshots ($VIGIL_ARTIFACTS, else a temporary directory).
func TestBrowserConsole(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Chromium is required under CI: %v (install the chromium package)", err)
		}
		t.Skipf("Chromium is not installed at %s (%v); the browser test needs it", chromiumPath, err)
	}
	start := time.Now()
	data := browserStore(t)
	ts := httptest.NewServer(data.srv)
	defer ts.Close()

	artifacts := os.Getenv("VIGIL_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	} else if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatalf("creating the artifacts directory: %v", err)
	}

	b := newBrowser(t, ts.URL, artifacts)

	// Dashboards: every panel renders, with data.
	for _, d := range web.Dashboards() {
		b.open(fmt.Sprintf("#/dashboards/%s?since=%s", d.ID, data.since))
		panels := b.waitPanels()
		if len(panels) != len(d.Panels) {
			t.Errorf("%s: %d panels on the page, %d defined", d.ID, len(panels), len(d.Panels))
		}
		for _, p := range panels {
			where := d.ID + "/" + p.ID
			switch {
			case p.State == "error":
				t.Errorf("%s: error: %s", where, p.Text)
			case p.State == "empty":
				if data.allowEmpty[where] == "" {
					t.Errorf("%s: no data over the test data", where)
				}
			case p.State != "ready":
				t.Errorf("%s: state %q", where, p.State)
			case p.Viz == "metric":
				if strings.HasPrefix(strings.TrimSpace(p.Text), "0") && data.allowEmpty[where] == "" {
					t.Errorf("%s: metric shows %q", where, p.Text)
				}
			case p.Viz == "table":
			default:
				if !p.Canvas {
					t.Errorf("%s: %s panel has no canvas", where, p.Viz)
				}
			}
		}
		b.screenshot("dashboard-" + d.ID)
	}

	// Clicking a table row filters the whole dashboard on that value.
	b.open("#/dashboards/cloudtrail?since=" + data.since)
	b.waitPanels()
	user := b.eval(`document.querySelector('[data-panel="top-users"] tr.row').dataset.value`)
	b.do(chromedp.Click(chromedp.CSS(`[data-panel="top-users"] tr.row`)))
	b.waitFilter("user.name:" + jsQuote(user))
	for _, p := range b.waitPanels() {
		if p.ID == "top-users" && p.State == "ready" && !strings.Contains(p.Text, user) {
			t.Errorf("after filtering on %q the top users panel shows %q", user, p.Text)
		}
	}
	b.screenshot("dashboard-cloudtrail-filtered")

	// Clicking a bar of a chart does the same.
	b.open("#/dashboards/vpcflow?since=" + data.since)
	b.waitPanels()
	x, y, key := b.barPoint("ports")
	b.do(chromedp.MouseClickXY(x, y))
	b.waitFilter("destination.port:" + key)
	b.screenshot("dashboard-vpcflow-port-filter")

	// Clicking a country on the map filters on the country.
	b.open("#/dashboards/guardduty?since=" + data.since)
	b.waitPanels()
	x, y, country := b.mapPoint("origins")
	b.do(chromedp.MouseClickXY(x, y))
	b.waitFilter("source.geo.country_name:" + jsQuote(country))
	b.screenshot("dashboard-guardduty-country-filter")

	// Discover: histogram, documents, field values, a document's detail.
	b.open("#/discover?since=" + data.since)
	b.waitDiscover()
	if n := b.evalInt(`document.querySelectorAll('#docs tr.doc').length`); n == 0 {
		t.Error("Discover shows no documents")
	}
	if !b.evalBool(`!!document.querySelector('#histogram canvas')`) {
		t.Error("Discover has no histogram")
	}
	b.do(chromedp.Click(chromedp.CSS(`#fields .field-head[data-field="event.action"]`)))
	b.poll(`document.querySelectorAll('#fields .topval').length > 0`, "top values of event.action")
	b.do(chromedp.Click(chromedp.CSS(`#docs tr.doc`)))
	b.poll(`!!document.querySelector('#docs tr.detail table.kv')`, "the document detail")
	b.screenshot("discover")
	b.do(chromedp.Click(chromedp.CSS(`#fields .topval button`)))
	b.poll(`document.querySelectorAll('#filters .chip').length === 1`, "the filter from a top value")
	b.waitDiscover()

	// A query error is shown with its position.
	b.open("#/discover?since=" + data.since + "&query=" + url.QueryEscape(`user.name:"unterminated`))
	b.poll(`document.querySelector('#query-error').textContent.includes('position')`, "the query error")
	b.screenshot("discover-query-error")

	// Hostile values render as text: no element is created from them and
	// no script runs (an alert would open a dialog).
	b.open("#/discover?since=" + data.since + "&query=" + url.QueryEscape(data.xssQuery))
	b.waitDiscover()
	b.do(chromedp.Click(chromedp.CSS(`#docs tr.doc`)))
	b.poll(`!!document.querySelector('#docs tr.detail table.kv')`, "the XSS document's detail")
	for _, x := range []string{browserXSSScript, browserXSSImg} {
		if !b.evalBool(fmt.Sprintf(`document.querySelector('#docs').textContent.includes(%s)`, jsString(x))) {
			t.Errorf("the planted document does not show %s as text", x)
		}
	}
	b.checkNoInjection()
	b.do(chromedp.Click(chromedp.CSS(`#docs tr.detail .tabs button:nth-child(2)`)))
	b.poll(fmt.Sprintf(`(document.querySelector('#docs pre.json')||{}).textContent?.includes(%s)`, jsString(browserXSSScript)), "the JSON view")
	b.screenshot("discover-xss-as-text")
	b.open("#/dashboards/cloudtrail?since=" + data.since + "&query=" + url.QueryEscape(data.xssQuery))
	b.waitPanels()
	if !b.evalBool(fmt.Sprintf(`document.querySelector('[data-panel="top-users"]').textContent.includes(%s)`, jsString(browserXSSScript))) {
		t.Errorf("the top users panel does not show %s as text", browserXSSScript)
	}
	b.checkNoInjection()
	b.screenshot("dashboard-cloudtrail-xss-as-text")

	// Alerts: the list with counts by level, the brute-force alert, its
	// matched documents (inline and in Discover), acknowledging it.
	b.open("#/alerts?status=all&since=" + data.since)
	b.waitAlerts()
	rows := b.evalInt(`document.querySelectorAll('#alerts tr.alert-row').length`)
	counted := b.evalInt(`Number(document.querySelector('#alert-counts .level-count.level-all').dataset.count)`)
	if rows == 0 || counted < rows {
		t.Errorf("the Alerts view lists %d alerts and counts %d", rows, counted)
	}
	for _, x := range []string{browserXSSScript, browserXSSImg} {
		if !b.evalBool(fmt.Sprintf(`document.querySelector('#alerts').textContent.includes(%s)`, jsString(x))) {
			t.Errorf("the planted alert does not show %s as text", x)
		}
	}
	b.checkNoInjection()
	b.screenshot("alerts")
	bf := url.QueryEscape(`rule.name:"` + data.bruteForce + `"`)
	b.open("#/alerts?since=" + data.since + "&query=" + bf)
	b.waitAlerts()
	openRow := `#alerts tr.alert-row[data-status="open"]`
	if !b.evalBool(`!!document.querySelector(` + jsString(openRow) + `)`) {
		b.screenshot("failure")
		t.Fatalf("no open alert of %q in the Alerts view", data.bruteForce)
	}
	alertID := b.eval(`document.querySelector(` + jsString(openRow) + `).dataset.id`)
	row := fmt.Sprintf(`#alerts tr.alert-row[data-id=%s]`, jsString(alertID))
	b.do(chromedp.Click(chromedp.CSS(row + ` td.rule`)))
	b.poll(`document.querySelectorAll('#alerts tr.alert-detail table.matched-docs tr.doc').length > 0`, "the alert's matched documents")
	matched := b.evalInt(`document.querySelectorAll('#alerts tr.alert-detail table.matched-docs tr.doc').length`)
	if !b.evalBool(`!!document.querySelector('#alerts tr.alert-detail .mitre-info table.kv')`) {
		t.Error("the brute-force alert shows no MITRE ATT&CK tactic")
	}
	b.screenshot("alerts-detail")
	b.do(chromedp.Click(chromedp.CSS(`#alerts tr.alert-detail table.matched-docs tr.doc`)))
	b.poll(`!!document.querySelector('#alerts tr.alert-detail tr.detail table.kv')`, "a matched document's fields")
	b.do(chromedp.Click(chromedp.CSS(row + ` .status-btn`)))
	b.poll(`!!document.querySelector(`+jsString(row+`[data-status="acknowledged"] .status-btn[data-next="open"]`)+`)`, "the alert acknowledged")
	b.screenshot("alerts-acknowledged")
	b.do(chromedp.Click(chromedp.CSS(`#alerts tr.alert-detail a.matched-discover`)))
	b.poll(`location.hash.startsWith('#/discover')`, "Discover with the matched documents")
	b.waitDiscover()
	if n := b.evalInt(`document.querySelectorAll('#docs tr.doc').length`); n != matched {
		t.Errorf("Discover shows %d of the alert's %d matched documents", n, matched)
	}
	// The status is stored: the alert is listed as acknowledged, not open.
	b.open("#/alerts?status=acknowledged&since=" + data.since + "&query=" + bf)
	b.waitAlerts()
	if !b.evalBool(`!!document.querySelector(` + jsString(row+`[data-status="acknowledged"]`) + `)`) {
		t.Errorf("alert %s is not listed as acknowledged after a reload", alertID)
	}
	b.open("#/alerts?since=" + data.since + "&query=" + bf)
	b.waitAlerts()
	if b.evalBool(`!!document.querySelector(` + jsString(row) + `)`) {
		t.Errorf("alert %s is still listed as open", alertID)
	}
	// A key value lists the alerts that share it.
	b.open("#/alerts?status=all&since=" + data.since + "&query=" + bf)
	b.waitAlerts()
	b.do(chromedp.Click(chromedp.CSS(row + ` td.rule`)))
	b.poll(`!!document.querySelector('#alerts tr.alert-detail .key-info button')`, "the alert's key fields")
	field := b.eval(`document.querySelector('#alerts tr.alert-detail .key-info tr').dataset.field`)
	b.do(chromedp.Click(chromedp.CSS(`#alerts tr.alert-detail .key-info button`)))
	b.poll(fmt.Sprintf(`document.querySelector('#query').value.includes(%s)`, jsString("."+field+":")), "the alerts with the same key value")
	b.waitAlerts()
	if !b.evalBool(`!!document.querySelector(` + jsString(row) + `)`) {
		t.Errorf("filtering on its own %s value does not list alert %s", field, alertID)
	}

	// The index page lists the indices.
	b.open("#/indices")
	b.poll(`document.querySelectorAll('#indices tbody tr').length > 0`, "the index list")
	b.screenshot("indices")

	// On a narrow screen the panels stack.
	b.do(chromedp.EmulateViewport(820, 1100))
	b.open("#/dashboards/vpcflow?since=" + data.since)
	b.waitPanels()
	if !b.evalBool(`document.querySelector('[data-panel="talkers-src"]').getBoundingClientRect().width > 700`) {
		t.Error("on a narrow screen a bar panel does not take the full width")
	}
	b.screenshot("dashboard-vpcflow-narrow")

	if csp := b.eval(`JSON.stringify(window.__vigilCSP)`); csp != "[]" {
		t.Errorf("content security policy violations: %s", csp)
	}
	b.mu.Lock()
	if len(b.dialogs) > 0 {
		t.Errorf("JavaScript dialogs opened (injected script ran?): %q", b.dialogs)
	}
	if len(b.errors) > 0 {
		t.Errorf("uncaught JavaScript errors: %q", b.errors)
	}
	b.mu.Unlock()
	t.Logf("browser test took %s; screenshots in %s", time.Since(start).Round(time.Millisecond), artifacts)
}

// newBrowser starts headless Chromium with a fresh profile and opens the
// console. The browser stops when the test ends.
func newBrowser(t *testing.T, base, artifacts string) *browserSession {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	b := &browserSession{t: t, ctx: ctx, base: base, artifacts: artifacts}
	// Start the browser (without a timeout: it would stop the browser).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev.Message)
			b.mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.errors = append(b.errors, (&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error())
			b.mu.Unlock()
		}
	}()
	if err := b.run(20*time.Second, chromedp.Navigate(base+"/")); err != nil {
		t.Fatalf("opening the console: %v", err)
	}
	return b
}

// run runs steps with a time limit.
func (b *browserSession) run(limit time.Duration, steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, limit)
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

// do runs steps or fails the test.
func (b *browserSession) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := b.run(15*time.Second, steps...); err != nil {
		b.screenshot("failure")
		b.t.Fatalf("browser: %v", err)
	}
}

// open switches the console to a route and waits until it is on screen.
func (b *browserSession) open(route string) {
	b.t.Helper()
	b.t.Logf("%s open %s", time.Now().Format("15:04:05.000"), route)
	b.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %s`, jsString(strings.TrimPrefix(route, "#")))))
	b.poll(`document.body.dataset.route === location.hash`, "route "+route)
}

// poll waits until a JavaScript expression is true.
func (b *browserSession) poll(expr, what string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.screenshot("failure")
		b.t.Fatalf("waiting for %s: %v", what, err)
	}
}

// eval returns a JavaScript expression's value as a string.
func (b *browserSession) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

func (b *browserSession) evalBool(expr string) bool {
	return b.eval(fmt.Sprintf(`String(Boolean(%s))`, expr)) == "true"
}

func (b *browserSession) evalInt(expr string) int {
	var n int
	_, _ = fmt.Sscan(b.eval(fmt.Sprintf(`String(%s)`, expr)), &n)
	return n
}

// waitPanels waits until no dashboard panel is loading and returns them.
func (b *browserSession) waitPanels() []panelInfo {
	b.t.Helper()
	b.poll(`(() => { const ps = [...document.querySelectorAll('#panels .panel')];
		return ps.length > 0 && ps.every((p) => p.dataset.state !== 'loading'); })()`, "the dashboard panels")
	raw := b.eval(`JSON.stringify([...document.querySelectorAll('#panels .panel')].map((p) => ({
		id: p.dataset.panel, state: p.dataset.state, viz: p.dataset.viz,
		canvas: !!p.querySelector('canvas'), text: p.querySelector('.panel-body').textContent.slice(0, 300) })))`)
	var out []panelInfo
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		b.t.Fatalf("reading the panels: %v", err)
	}
	return out
}

// waitDiscover waits until Discover shows documents (or says there are
// none) and its histogram.
func (b *browserSession) waitDiscover() {
	b.t.Helper()
	b.poll(`!!(document.querySelector('#docs table.docs') || document.querySelector('#no-hits') || document.querySelector('#docs .state.error'))
		&& !!(document.querySelector('#histogram canvas') || document.querySelector('#histogram .state'))`, "Discover")
}

// waitAlerts waits until the Alerts view shows its table (or says there
// are none) and its counts by level.
func (b *browserSession) waitAlerts() {
	b.t.Helper()
	b.poll(`!!(document.querySelector('#alerts table.alerts') || document.querySelector('#alerts #no-hits') || document.querySelector('#alerts .state.error'))
		&& !!document.querySelector('#alert-counts .level-count')`, "the Alerts view")
}

// waitFilter waits for a filter chip and for the panels to reload.
func (b *browserSession) waitFilter(filter string) {
	b.t.Helper()
	b.poll(fmt.Sprintf(`[...document.querySelectorAll('#filters .chip')].some((c) => c.dataset.filter === %s)`, jsString(filter)), "filter "+filter)
	if b.evalBool(`!!document.querySelector('#panels')`) {
		b.waitPanels()
	}
}

// barPoint finds where on the page the longest bar of a bar panel is.
func (b *browserSession) barPoint(panel string) (x, y float64, key string) {
	b.t.Helper()
	raw := b.eval(fmt.Sprintf(`(() => {
		const el = document.querySelector('[data-panel=%s] .chart');
		el.scrollIntoView({block: 'center'});
		const c = echarts.getInstanceByDom(el);
		const o = c.getOption();
		const cats = o.yAxis[0].data, vals = o.series[0].data, i = cats.length - 1;
		const [px, py] = c.convertToPixel({seriesIndex: 0}, [vals[i] / 2, i]);
		const r = el.getBoundingClientRect();
		return JSON.stringify({x: r.left + px, y: r.top + py, key: String(cats[i])});
	})()`, jsString(panel)))
	return b.point(raw)
}

// mapPoint finds where on the page the country with the most documents
// of a map panel is.
func (b *browserSession) mapPoint(panel string) (x, y float64, key string) {
	b.t.Helper()
	raw := b.eval(fmt.Sprintf(`(() => {
		const el = document.querySelector('[data-panel=%s] .chart');
		el.scrollIntoView({block: 'center'});
		const c = echarts.getInstanceByDom(el);
		const data = c.getOption().series[0].data.slice().sort((a, b) => b.value - a.value);
		const top = data[0];
		const geo = c.getModel().getSeriesByIndex(0).coordinateSystem;
		const [px, py] = c.convertToPixel({seriesIndex: 0}, geo.getRegion(top.name).getCenter());
		const r = el.getBoundingClientRect();
		return JSON.stringify({x: r.left + px, y: r.top + py, key: top.orig});
	})()`, jsString(panel)))
	return b.point(raw)
}

func (b *browserSession) point(raw string) (x, y float64, key string) {
	var p struct {
		X, Y float64
		Key  string
	}
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		b.t.Fatalf("reading a chart position %q: %v", raw, err)
	}
	return p.X, p.Y, p.Key
}

// checkNoInjection fails when the page holds an element made from log
// data: an img with src=x, an element with an onerror attribute, or a
// script other than the console's two.
func (b *browserSession) checkNoInjection() {
	b.t.Helper()
	if n := b.evalInt(`document.querySelectorAll('img[src="x"], [onerror], [onload]').length`); n != 0 {
		b.t.Errorf("%d injected elements with handlers on the page", n)
	}
	if n := b.evalInt(`document.scripts.length`); n != 2 {
		b.t.Errorf("%d script elements on the page, want the console's 2", n)
	}
}

// screenshot saves a full-page PNG of the current view.
func (b *browserSession) screenshot(name string) {
	b.t.Logf("%s screenshot %s", time.Now().Format("15:04:05.000"), name)
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.artifacts, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.t.Logf("screenshot: %s", path)
}

// jsString writes s as a JavaScript string literal.
func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(errors.New("a string always marshals"))
	}
	return string(b)
}

// jsQuote quotes a value the way the console's clause() does: numbers
// bare, anything else in double quotes with \ and " escaped.
func jsQuote(v string) string {
	if regexp.MustCompile(`^-?\d+(\.\d+)?$`).MatchString(v) {
		return v
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// alertDoc is the stored document of a.
func alertDoc(a *alert.Alert) store.Doc {
	src, err := json.Marshal(a)
	if err != nil {
		panic(fmt.Errorf("an alert always marshals: %w", err))
	}
	return store.Doc{ID: a.ID, Index: "alerts", LogType: web.DefaultAlertLogType, TimestampMs: a.FirstSeen.UnixMilli(), Source: src}
}

// xssAlert is an alert about the planted document docID whose rule name,
// tags and key fields carry the XSS strings.
func xssAlert(at time.Time, docID string) store.Doc {
	return alertDoc(&alert.Alert{
		ID: "xss-alert-1", RuleID: "xss-rule", RuleTitle: browserXSSScript, Level: "critical",
		Tags: []string{"attack.execution", browserXSSImg}, Threat: alert.Threat{TacticNames: []string{browserXSSImg}},
		KeyFields: map[string]string{"user.name": browserXSSScript, browserXSSImg: "x"}, DocIDs: []string{docID},
		FirstSeen: at, LastSeen: at, WindowStart: at.Truncate(time.Hour), WindowEnd: at.Truncate(time.Hour).Add(time.Hour),
		Count: 1, Status: alert.StatusOpen,
	})
}
