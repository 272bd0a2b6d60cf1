/**
 * One JUnit or xUnit.net XML file, read as a stream by saxes (a conforming, non-validating XML
 * parser): the file is never held whole in memory, and the parser expands no entity a DTD declares
 * (a reference to one is an error), so a "billion laughs" file fails at its first reference instead
 * of filling the memory. Shapes read:
 * - JUnit (Ant, Maven Surefire, pytest, Jest, Go's gotestsum…): `testsuites?` > `testsuite`+ >
 *   `testcase` with `failure`, `error` or `skipped` inside;
 * - xUnit.net v2: `assemblies` > `assembly` > `collection` > `test result="Pass|Fail|Skip"`.
 */
import { SaxesParser, type SaxesTagPlain } from 'saxes';

export interface CaseResult {
  suite: string;
  name: string;
  time: number;
  outcome: 'passed' | 'failure' | 'error' | 'skipped';
  message: string;
}

/** a failure's message and text, kept per case; the rest of a long stack trace is dropped */
export const MESSAGE_CHARS = 1_000;
const ROOTS = new Set(['testsuites', 'testsuite', 'assemblies', 'assembly']);

/** Parses an XML text fed in chunks; each finished case goes to `onCase`. Errors throw, with the line. */
export class ReportParser {
  private readonly parser = new SaxesParser<{ xmlns: false; position: true }>({ xmlns: false, position: true });
  private readonly suites: string[] = [];
  private current: CaseResult | null = null;
  /** inside a failure/error/message element of the current case: its text is collected */
  private collecting = false;
  private sawRoot = false;

  constructor(private readonly onCase: (c: CaseResult) => void) {
    this.parser.on('opentag', (tag) => this.open(tag));
    this.parser.on('closetag', (tag) => this.close(tag));
    this.parser.on('text', (text) => this.text(text));
    this.parser.on('cdata', (text) => this.text(text));
  }

  write(chunk: string): void {
    this.parser.write(chunk);
  }

  end(): void {
    this.parser.close();
    if (!this.sawRoot) throw new Error('no JUnit or xUnit root element');
  }

  private open(tag: SaxesTagPlain): void {
    const name = localName(tag.name);
    const attr = tag.attributes as Record<string, string>;
    if (!this.sawRoot) {
      if (!ROOTS.has(name)) throw new Error(`not a JUnit or xUnit report (its root element is <${tag.name}>)`);
      this.sawRoot = true;
    }
    switch (name) {
      case 'testsuite':
      case 'collection':
      case 'assembly':
        this.suites.push(attr.name ?? '');
        return;
      case 'testcase':
        this.current = {
          suite: attr.classname || this.suites.at(-1) || '',
          name: attr.name ?? '',
          time: seconds(attr.time),
          outcome: 'passed',
          message: '',
        };
        return;
      case 'test':
        if (attr.result === undefined) return;
        this.current = {
          suite: attr.type || this.suites.at(-1) || '',
          name: attr.name ?? attr.method ?? '',
          time: seconds(attr.time),
          outcome: attr.result === 'Fail' ? 'failure' : attr.result === 'Skip' ? 'skipped' : 'passed',
          message: '',
        };
        return;
      case 'failure':
      case 'error':
        if (!this.current) return;
        // a case with both keeps its first failure; an error outranks nothing it follows
        if (this.current.outcome !== 'failure' && this.current.outcome !== 'error') this.current.outcome = name;
        if (attr.message) this.appendMessage(attr.message);
        this.collecting = true;
        return;
      case 'skipped':
        if (this.current && this.current.outcome === 'passed') this.current.outcome = 'skipped';
        return;
      case 'message':
        if (this.current) this.collecting = true;
        return;
      default:
        return;
    }
  }

  private close(tag: SaxesTagPlain): void {
    switch (localName(tag.name)) {
      case 'testsuite':
      case 'collection':
      case 'assembly':
        this.suites.pop();
        return;
      case 'testcase':
      case 'test':
        if (this.current) this.onCase(this.current);
        this.current = null;
        this.collecting = false;
        return;
      case 'failure':
      case 'error':
      case 'message':
        this.collecting = false;
        return;
      default:
        return;
    }
  }

  private text(text: string): void {
    if (this.collecting && this.current) this.appendMessage(text);
  }

  private appendMessage(text: string): void {
    const c = this.current!;
    if (c.message.length >= MESSAGE_CHARS) return;
    const piece = text.trim();
    if (!piece || c.message.includes(piece)) return;
    c.message = (c.message ? `${c.message}\n${piece}` : piece).slice(0, MESSAGE_CHARS);
  }
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon === -1 ? name : name.slice(colon + 1);
}

function seconds(value: string | undefined): number {
  // some writers use a decimal comma or thousands separators ("1,234.5")
  const n = Number((value ?? '').replace(/,(?=\d{3}\b)/g, '').replace(',', '.'));
  return Number.isFinite(n) && n >= 0 ? n : 0;
}
