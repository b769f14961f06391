// Filling a generated form's fields in the browser, by field type, as the
// server's form definition describes them (form { fields { … } }): the
// suites read the fields from the server and name none themselves.

// formQuery reads a form as the fill helpers need it.
export const formQuery = `query($n: String!) { form(name: $n) { name label summary callField fields {
  name label type required computed conditional caller default options { value label children { value label children { value label } } } levels { key label } } } }`

export const field = (name) => `[data-test="field-${name}"]`

// pick opens an Element Plus select (or cascader) and clicks the option
// labelled text in its dropdown, which Element Plus puts under <body>.
export async function pick(p, trigger, ...texts) {
  await p.click(trigger)
  for (const text of texts) {
    const item = p.locator('.el-popper:visible').locator('.el-select-dropdown__item, .el-cascader-node').filter({ hasText: text }).first()
    await item.click()
  }
  await p.waitForTimeout(150)
}

// fill enters text in field f, or picks its first option (the first leaf
// of a tree).
export async function fill(p, f, text) {
  const sel = field(f.name)
  if (f.type === 'longtext') return p.fill(`${sel} textarea`, text)
  if (f.type === 'richtext') {
    await p.click(`${sel} [contenteditable=true]`)
    return p.keyboard.type(text)
  }
  if (f.type === 'choice') {
    const label = f.options[0].label
    if (await p.locator(`${sel} .el-radio`).count()) return p.click(`${sel} .el-radio >> text=${label}`)
    return pick(p, `${sel} .el-select`, label)
  }
  if (f.type === 'tree') {
    const path = []
    for (let o = f.options[0]; o; o = o.children[0]) path.push(o.label)
    return pick(p, `${sel} .el-cascader`, ...path)
  }
  return p.fill(`${sel} input`, text)
}
