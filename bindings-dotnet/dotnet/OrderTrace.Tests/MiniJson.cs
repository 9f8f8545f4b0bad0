using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace OrderTrace.Tests
{
    /// <summary>
    /// A small JSON reader for the tests (objects become Dictionary&lt;string, object&gt;, arrays
    /// List&lt;object&gt;, numbers double), so they need no package under Mono or dotnet.
    /// </summary>
    internal sealed class MiniJson
    {
        private readonly string text;
        private int at;

        private MiniJson(string text)
        {
            this.text = text;
        }

        public static object Parse(string text)
        {
            var p = new MiniJson(text);
            var value = p.Value();
            p.Space();
            if (p.at != text.Length) throw p.Error("trailing text");
            return value;
        }

        private Exception Error(string what)
        {
            return new FormatException("JSON: " + what + " at offset " + at);
        }

        private void Space()
        {
            while (at < text.Length && char.IsWhiteSpace(text[at])) at++;
        }

        private void Expect(char c)
        {
            Space();
            if (at >= text.Length || text[at] != c) throw Error("expected '" + c + "'");
            at++;
        }

        private object Value()
        {
            Space();
            if (at >= text.Length) throw Error("unexpected end");
            var c = text[at];
            if (c == '{') return Object();
            if (c == '[') return Array();
            if (c == '"') return String();
            if (text.Substring(at).StartsWith("true")) { at += 4; return true; }
            if (text.Substring(at).StartsWith("false")) { at += 5; return false; }
            if (text.Substring(at).StartsWith("null")) { at += 4; return null; }
            return Number();
        }

        private Dictionary<string, object> Object()
        {
            var o = new Dictionary<string, object>();
            Expect('{');
            Space();
            if (text[at] == '}') { at++; return o; }
            while (true)
            {
                Space();
                var key = String();
                Expect(':');
                o[key] = Value();
                Space();
                if (text[at] == ',') { at++; continue; }
                Expect('}');
                return o;
            }
        }

        private List<object> Array()
        {
            var a = new List<object>();
            Expect('[');
            Space();
            if (text[at] == ']') { at++; return a; }
            while (true)
            {
                a.Add(Value());
                Space();
                if (text[at] == ',') { at++; continue; }
                Expect(']');
                return a;
            }
        }

        private string String()
        {
            Expect('"');
            var sb = new StringBuilder();
            while (at < text.Length)
            {
                var c = text[at++];
                if (c == '"') return sb.ToString();
                if (c != '\\') { sb.Append(c); continue; }
                var e = text[at++];
                switch (e)
                {
                    case 'n': sb.Append('\n'); break;
                    case 't': sb.Append('\t'); break;
                    case 'r': sb.Append('\r'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case 'u':
                        sb.Append((char)int.Parse(text.Substring(at, 4), NumberStyles.HexNumber));
                        at += 4;
                        break;
                    default: sb.Append(e); break;
                }
            }
            throw Error("unterminated string");
        }

        private double Number()
        {
            var start = at;
            while (at < text.Length && "+-0123456789.eE".IndexOf(text[at]) >= 0) at++;
            if (start == at) throw Error("unexpected character");
            return double.Parse(text.Substring(start, at - start), CultureInfo.InvariantCulture);
        }
    }
}
