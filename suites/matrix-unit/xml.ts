// A small XML 1.0 well-formedness check for the JUnit tests (no XML library is installed):
// balanced tags, quoted attributes without `<`, only the five predefined or numeric entities,
// no characters XML forbids, exactly one root element.

const NAME = '[A-Za-z_:][-A-Za-z0-9_:.]*';
const ATTR = `\\s+${NAME}\\s*=\\s*"[^"<]*"`;
const TAG = new RegExp(`^<(/?)(${NAME})((?:${ATTR})*)\\s*(/?)>`);
const ENTITY = /^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;

export const XMLValidator = {
  validate(xml: string): true | string {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(xml)) return 'forbidden character';
    let rest = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
    const stack: string[] = [];
    let roots = 0;
    while (rest.length > 0) {
      if (rest.startsWith('<')) {
        const m = TAG.exec(rest);
        if (!m) return `bad tag at: ${rest.slice(0, 40)}`;
        const [all, close, name, , selfClose] = m;
        if (close) {
          if (stack.pop() !== name) return `unbalanced </${name}>`;
        } else {
          if (stack.length === 0) roots++;
          if (!selfClose) stack.push(name!);
        }
        for (const ref of (m[3] ?? '').match(/&[^;]*;?/g) ?? []) if (!ENTITY.test(ref)) return `bad entity ${ref}`;
        rest = rest.slice(all.length);
      } else {
        const next = rest.indexOf('<');
        const text = next < 0 ? rest : rest.slice(0, next);
        if (stack.length === 0 && text.trim() !== '') return 'text outside the root';
        for (let i = text.indexOf('&'); i >= 0; i = text.indexOf('&', i + 1)) if (!ENTITY.test(text.slice(i))) return `bad entity at ${text.slice(i, i + 10)}`;
        rest = next < 0 ? '' : rest.slice(next);
      }
    }
    if (stack.length) return `unclosed <${stack.at(-1)}>`;
    return roots === 1 ? true : `${roots} root elements`;
  },
};
