package telephony

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hotline12345/hotline/core/registry"
)

func TestPathLabelsNameTheNodesAsTheMenuDoes(t *testing.T) {
	set, diags := registry.Load(context.Background(), []string{"../../flows", "../../forms", "../../scripts"}, registry.LoadOptions{})
	require.Empty(t, diags)
	config := registry.NewRuntime(set)
	path := []string{"welcome", "language", "menu", "consult", "agent", "gone"}
	// The shipped 12345 menu (flows/ivr/12345.yaml) labels its nodes; a
	// node since removed keeps its name.
	assert.Equal(t, []string{"欢迎语", "语种选择", "主菜单", "咨询", "转人工", "gone"}, pathLabels(config, "hotline", path))
	assert.Equal(t, path, pathLabels(config, "no-such-menu", path))
	assert.Equal(t, path, pathLabels(nil, "hotline", path))
	assert.Equal(t, []string{}, pathLabels(config, "hotline", nil))
}
