package flowtest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/flow"
	"github.com/hotline12345/hotline/core/flowtest"
	"github.com/hotline12345/hotline/core/pgtest"
	"github.com/hotline12345/hotline/core/registry"

	_ "github.com/hotline12345/hotline/core/app" // every kind the shipped configuration uses (kinds.go)
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func runner(t *testing.T) flowtest.Runner {
	return flowtest.Runner{Database: func(ctx context.Context) (*pgxpool.Pool, func(), error) {
		pool, err := pgxpool.New(ctx, pgtest.URL(t))
		return pool, func() { pool.Close() }, err
	}}
}

// The sample scenarios run in the organisations they name (two of the
// sample's own), the banner one in a league whose addresses have four
// levels.
func TestShippedSampleScenariosPass(t *testing.T) {
	for dir, n := range map[string]int{"../../testdata/flows/sample": 3, "../../testdata/flows/banner": 1} {
		set, diags := registry.Load(context.Background(), []string{dir}, registry.LoadOptions{})
		require.Empty(t, diags)
		require.Len(t, set.All(flowtest.Kind), n)
		failures, err := runner(t).Run(context.Background(), set)
		require.NoError(t, err)
		assert.Empty(t, failures, dir)
	}
}

// The default 12345 flow ships with scenarios that pass and that, between
// them, bring a ticket into every state of the flow.
func TestShippedTicketFlowScenariosCoverEveryState(t *testing.T) {
	set, diags := registry.Load(context.Background(), []string{"../../flows", "../../forms", "../../scripts"}, registry.LoadOptions{})
	require.Empty(t, diags)
	r := runner(t)
	r.Visited = map[string]map[string]bool{}
	failures, err := r.Run(context.Background(), set)
	require.NoError(t, err)
	assert.Empty(t, failures)
	f, ok := registry.Model[*flow.Flow](set, flow.Kind, "ticket")
	require.True(t, ok)
	var missing []string
	for _, s := range f.States {
		if !r.Visited["ticket"][s.Name] {
			missing = append(missing, s.Name+" "+s.Label)
		}
	}
	assert.Empty(t, missing, "states no scenario reaches")
}

// A scenario whose expectations are wrong fails at the step, with the
// position of that step.
func TestFailingScenarioPointsAtTheStep(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "flows/base.yaml", readFile(t, "../../testdata/flows/sample/flows/base.yaml"))
	writeFile(t, dir, "flows/request.yaml", readFile(t, "../../testdata/flows/sample/flows/request.yaml"))
	writeFile(t, dir, "forms/request.yaml", readFile(t, "../../testdata/flows/sample/forms/request.yaml"))
	writeFile(t, dir, "flows/organisation.yaml", readFile(t, "../../testdata/flows/sample/flows/organisation.yaml"))
	writeFile(t, dir, "flows/wrong_test.yaml", `kind: flow-test
name: wrong
flow: request
org: sample
start: 2026-03-02T09:00:00+08:00
steps:
  - {as: agent@12345, create: register, input: {unit: "150105", title: x, type: 咨询}, expect: {state: done, deadline: 2026-03-04T00:00:00+08:00}}
  - {as: clerk@150105, do: return, error: 不能}
`)
	set, diags := registry.Load(context.Background(), []string{dir}, registry.LoadOptions{})
	require.Empty(t, diags)
	failures, err := runner(t).Run(context.Background(), set)
	require.NoError(t, err)
	require.Len(t, failures, 3)
	for _, f := range failures {
		assert.Contains(t, f.Pos.File, "flows/wrong_test.yaml")
	}
	assert.Equal(t, 7, failures[0].Pos.Line)
	assert.Contains(t, failures[0].Message, "expected state done, got handling")
	assert.Contains(t, failures[1].Message, "expected deadline 2026-03-04T00:00:00+08:00, got 2026-03-06T00:00:00+08:00")
	assert.Equal(t, 8, failures[2].Pos.Line)
	assert.Contains(t, failures[2].Message, `expected a refusal containing "不能", but it succeeded`)
}

// A scenario's organisation and the units its users sit in are checked by
// lint, at the key that names them.
func TestScenarioOrganisationIsLinted(t *testing.T) {
	tests := []struct {
		name, org, as, want string
	}{
		{"unknown organisation", "org: baotu", "agent@12345", `wrong_test.yaml:4:6: unknown organisation "baotu" (did you mean "baotou"?)`},
		{"no organisation", "", "agent@12345", `wrong_test.yaml:1:1: missing required key "org"`},
		{"unit not in the organisation", "org: sample", "agent@bt12345", `wrong_test.yaml:7:10: step 1: the organisation has no unit "bt12345"`},
		{"unit not in another organisation", "org: baotou", "agent@12345", `step 1: the organisation has no unit "12345"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "flows/organisation.yaml", readFile(t, "../../testdata/flows/sample/flows/organisation.yaml"))
			writeFile(t, dir, "flows/baotou.yaml", readFile(t, "../../testdata/flows/sample/flows/baotou.yaml"))
			writeFile(t, dir, "flows/base.yaml", readFile(t, "../../testdata/flows/sample/flows/base.yaml"))
			writeFile(t, dir, "flows/request.yaml", readFile(t, "../../testdata/flows/sample/flows/request.yaml"))
			writeFile(t, dir, "forms/request.yaml", readFile(t, "../../testdata/flows/sample/forms/request.yaml"))
			writeFile(t, dir, "flows/wrong_test.yaml", "kind: flow-test\nname: wrong\nflow: request\n"+tt.org+"\nstart: 2026-03-02T09:00:00+08:00\nsteps:\n  - {as: "+tt.as+", create: register, input: {unit: \"150105\", title: x}}\n")
			_, diags := registry.Load(context.Background(), []string{dir}, registry.LoadOptions{})
			require.Len(t, diags, 1)
			assert.Contains(t, diags[0].String(), tt.want)
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func writeFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}
