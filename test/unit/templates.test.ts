import {expect} from 'chai'

import {escapeHtml, renderTemplate} from '../../src/system/templates.js'

describe('templates', () => {
  it('fills in names, dotted paths and the current item', () => {
    expect(renderTemplate('{{a}} {{b.c}} [{{#list}}{{.}},{{/list}}]', {a: 'x', b: {c: 1}, list: ['p', 'q']})).to.equal('x 1 [p,q,]')
  })

  it('renders a section once for a true value, never for empty or false ones, and inverted sections only then', () => {
    const template = '{{#on}}yes {{name}}{{/on}}{{^on}}no{{/on}}'
    expect(renderTemplate(template, {on: {name: 'n'}})).to.equal('yes n')
    expect(renderTemplate(template, {on: null})).to.equal('no')
    expect(renderTemplate(template, {on: []})).to.equal('no')
    expect(renderTemplate('{{#n}}[{{n}}]{{/n}}', {n: 0})).to.equal('')
  })

  it('looks names up in the enclosing items', () => {
    expect(renderTemplate('{{#items}}{{pool}}/{{name}} {{/items}}', {pool: 'tank', items: [{name: 'a'}, {name: 'b'}]})).to.equal('tank/a tank/b ')
  })

  it('leaves no blank line where a section tag stood alone on its line', () => {
    expect(renderTemplate('a\n{{#list}}\n- {{.}}\n{{/list}}\nb\n', {list: ['x', 'y']})).to.equal('a\n- x\n- y\nb\n')
  })

  it('escapes values for HTML when asked, never the template itself', () => {
    expect(renderTemplate('<b>{{v}}</b>', {v: '<script>&"\''}, escapeHtml)).to.equal('<b>&lt;script&gt;&amp;&quot;&#39;</b>')
  })

  it('says which section is unclosed', () => {
    expect(() => renderTemplate('{{#open}} x', {})).to.throw('template: {{#open}} is never closed')
  })
})
