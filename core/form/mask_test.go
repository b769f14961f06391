package form_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hotline12345/hotline/core/form"
)

func TestMaskNeverShowsAValueWhole(t *testing.T) {
	phone := form.Mask{KeepStart: 3, KeepEnd: 4}
	name := form.Mask{KeepStart: 1}
	for _, tc := range []struct {
		mask form.Mask
		in   any
		want any
	}{
		{phone, "13812345678", "138****5678"},
		{phone, "04716951234", "047****1234"},
		{phone, "1234567", "123****"}, // as long as what is kept: fewer kept
		{phone, "", ""},
		{name, "张三", "张*"},
		{name, "欧阳娜娜", "欧***"},
		{name, "李", "*"},
		{form.Mask{}, "150102199001011234", "******************"},
		{form.Mask{KeepStart: 4, KeepEnd: 4}, "150102199001011234", "1501**********1234"},
		{name, []any{"王五", "赵六"}, []any{"王*", "赵*"}},
		{form.Mask{KeepStart: 2}, map[string]any{"district": "150105", "detail": "锦绣小区5号楼"}, map[string]any{"district": "150105", "detail": "锦绣*****"}},
		{phone, 13812345678.0, "***"},
		{phone, nil, nil},
	} {
		assert.Equal(t, tc.want, tc.mask.Apply(tc.in), "%v", tc.in)
	}
}
