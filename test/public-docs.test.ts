import { expect } from 'chai'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

// Every name a user can import shows its documentation and an example in their editor.
describe('the documented surface', function () {
  this.timeout(60_000)

  it('should give every export of the package a TSDoc comment with an @example', () => {
    const index = fileURLToPath(new URL('../lib/index.ts', import.meta.url))
    const program = ts.createProgram([index], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      noResolve: false,
      skipLibCheck: true,
    })
    const checker = program.getTypeChecker()
    const source = program.getSourceFile(index)!
    const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!)
    const undocumented: string[] = []
    for (const exported of exports) {
      const symbol =
        exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
      const tags = symbol.getJsDocTags(checker)
      if (!tags.some((tag) => tag.name === 'example')) undocumented.push(exported.name)
    }
    expect(exports.length).to.be.greaterThan(50)
    expect(undocumented, 'exports without an @example').to.deep.equal([])
  })
})
