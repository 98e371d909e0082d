using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace DistillSharp.Weights;

/// <summary>
/// A pickle machine (protocols 0 to 5) that builds only what a PyTorch state dict is made of: numbers, strings, bytes,
/// <c>None</c>, booleans, tuples, lists, dicts, sets, and tensors. The only globals it resolves are
/// <c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor</c>, <c>_rebuild_tensor_v2</c> and
/// <c>_rebuild_parameter</c>, and the typed storage classes (<c>torch.FloatStorage</c> ...); any other global named in
/// the pickle (<c>os.system</c>, <c>builtins.eval</c>, a class of the file's own) is refused with a
/// <see cref="UnsafePickleException"/> that names it, at the opcode that names it, before anything is called. Nothing
/// is ever imported, looked up by reflection or executed: a callable is one of the handlers above or an error.
/// </summary>
/// <remarks>
/// Why by hand: Razorvine.Pickle resolves globals from one process-wide table and turns every unknown one into a
/// <c>ClassDict</c> object instead of refusing it, with no hook to intercept the lookup (only persistent ids and
/// out-of-band buffers are overridable); TorchSharp.PyBridge's unpickler builds on it unrestricted and reads only the
/// zip format. Tensors are returned as <see cref="PendingTensor"/> (storage key, offset, shape, stride) and built
/// afterwards from the storages, which the legacy format writes after the pickle.
/// </remarks>
internal sealed class RestrictedUnpickler
{
    private static readonly object Mark = new();
    private readonly BinaryReader _reader;
    private readonly Func<object?[], object> _persistentLoad;
    private readonly List<object?> _stack = [];
    private readonly List<int> _marks = [];
    private readonly Dictionary<long, object?> _memo = [];

    /// <param name="reader">Positioned at the first opcode; left just after STOP.</param>
    /// <param name="persistentLoad">Turns a persistent id (a tuple) into a storage reference.</param>
    public RestrictedUnpickler(BinaryReader reader, Func<object?[], object> persistentLoad)
    {
        _reader = reader;
        _persistentLoad = persistentLoad;
    }

    /// <summary>Runs the machine to STOP and returns the pickled value.</summary>
    /// <exception cref="UnsafePickleException">A global outside the allowed set, or an opcode that builds objects by other means.</exception>
    /// <exception cref="InvalidDataException">A malformed pickle.</exception>
    public object? Load()
    {
        while (true)
        {
            byte op = _reader.ReadByte();
            switch (op)
            {
                case 0x80: _reader.ReadByte(); break; // PROTO
                case 0x95: _reader.ReadInt64(); break; // FRAME
                case (byte)'.': return Pop(); // STOP
                case (byte)'(': _marks.Add(_stack.Count); _stack.Add(Mark); break; // MARK
                case (byte)'0': Pop(); break; // POP
                case (byte)'1': PopMark(); break; // POP_MARK
                case (byte)'2': Push(Peek()); break; // DUP
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break; // NEWTRUE
                case 0x89: Push(false); break; // NEWFALSE
                case (byte)'I': Push(ParseIntLine(Line())); break; // INT
                case (byte)'J': Push((long)_reader.ReadInt32()); break; // BININT
                case (byte)'K': Push((long)_reader.ReadByte()); break; // BININT1
                case (byte)'M': Push((long)_reader.ReadUInt16()); break; // BININT2
                case (byte)'L': Push(Integer(BigInteger.Parse(Line().TrimEnd('L'), System.Globalization.CultureInfo.InvariantCulture))); break; // LONG
                case 0x8a: Push(Integer(new BigInteger(Bytes(_reader.ReadByte()), isUnsigned: false, isBigEndian: false))); break; // LONG1
                case 0x8b: Push(Integer(new BigInteger(Bytes(Length(_reader.ReadInt32())), isUnsigned: false, isBigEndian: false))); break; // LONG4
                case (byte)'F': Push(double.Parse(Line(), System.Globalization.CultureInfo.InvariantCulture)); break; // FLOAT
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Bytes(8))); break; // BINFLOAT
                case (byte)'S': Push(Unquote(Line())); break; // STRING
                case (byte)'T': Push(Encoding.Latin1.GetString(Bytes(Length(_reader.ReadInt32())))); break; // BINSTRING
                case (byte)'U': Push(Encoding.Latin1.GetString(Bytes(_reader.ReadByte()))); break; // SHORT_BINSTRING
                case (byte)'V': Push(Line()); break; // UNICODE (raw-unicode-escape; plain ASCII in practice)
                case (byte)'X': Push(Encoding.UTF8.GetString(Bytes(Length(_reader.ReadInt32())))); break; // BINUNICODE
                case 0x8c: Push(Encoding.UTF8.GetString(Bytes(_reader.ReadByte()))); break; // SHORT_BINUNICODE
                case 0x8d: Push(Encoding.UTF8.GetString(Bytes(Length(_reader.ReadInt64())))); break; // BINUNICODE8
                case (byte)'B': Push(Bytes(Length(_reader.ReadInt32()))); break; // BINBYTES
                case (byte)'C': Push(Bytes(_reader.ReadByte())); break; // SHORT_BINBYTES
                case 0x8e: Push(Bytes(Length(_reader.ReadInt64()))); break; // BINBYTES8
                case 0x96: Push(Bytes(Length(_reader.ReadInt64()))); break; // BYTEARRAY8
                case (byte)')': Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                case (byte)'t': Push(PopMark().ToArray()); break; // TUPLE
                case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
                case (byte)'l': Push(PopMark()); break; // LIST
                case (byte)'a': { var v = Pop(); As<List<object?>>(Peek(), "APPEND").Add(v); break; } // APPEND
                case (byte)'e': { var items = PopMark(); As<List<object?>>(Peek(), "APPENDS").AddRange(items); break; } // APPENDS
                case (byte)'}': Push(new PickleDict()); break; // EMPTY_DICT
                case (byte)'d': { var items = PopMark(); var d = new PickleDict(); SetItems(d, items); Push(d); break; } // DICT
                case (byte)'s': { var v = Pop(); var k = Pop(); As<PickleDict>(Peek(), "SETITEM").Set(k, v); break; } // SETITEM
                case (byte)'u': { var items = PopMark(); SetItems(As<PickleDict>(Peek(), "SETITEMS"), items); break; } // SETITEMS
                case 0x8f: Push(new List<object?>()); break; // EMPTY_SET (a list: nothing here needs set semantics)
                case 0x90: { var items = PopMark(); As<List<object?>>(Peek(), "ADDITEMS").AddRange(items); break; } // ADDITEMS
                case 0x91: Push(PopMark()); break; // FROZENSET
                case (byte)'g': Push(MemoGet(ParseIntLine(Line()))); break; // GET
                case (byte)'h': Push(MemoGet(_reader.ReadByte())); break; // BINGET
                case (byte)'j': Push(MemoGet(_reader.ReadUInt32())); break; // LONG_BINGET
                case (byte)'p': _memo[ParseIntLine(Line())] = Peek(); break; // PUT
                case (byte)'q': _memo[_reader.ReadByte()] = Peek(); break; // BINPUT
                case (byte)'r': _memo[_reader.ReadUInt32()] = Peek(); break; // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Peek(); break; // MEMOIZE
                case (byte)'c': Push(Global(Line(), Line())); break; // GLOBAL
                case 0x93: { var name = Pop(); var module = Pop(); Push(Global(As<string>(module, "STACK_GLOBAL"), As<string>(name, "STACK_GLOBAL"))); break; }
                case (byte)'R': { var args = As<object?[]>(Pop(), "REDUCE"); var f = Pop(); Push(Call(f, args)); break; } // REDUCE
                case 0x81: { var args = As<object?[]>(Pop(), "NEWOBJ"); var cls = Pop(); Push(Call(cls, args)); break; } // NEWOBJ
                case (byte)'b': { var state = Pop(); Build(Peek(), state); break; } // BUILD
                case (byte)'P': Push(_persistentLoad([Line()])); break; // PERSID
                case (byte)'Q': Push(_persistentLoad(As<object?[]>(Pop(), "BINPERSID"))); break; // BINPERSID
                case (byte)'i': // INST module\nname\n: a global too
                    throw Refused($"{Line()}.{Line()}");
                case (byte)'o': throw new UnsafePickleException("the pickle builds an object with OBJ, which a state dict never does; refused");
                case 0x92: throw new UnsafePickleException("the pickle builds an object with NEWOBJ_EX, which a state dict never does; refused");
                case 0x82 or 0x83 or 0x84: throw new UnsafePickleException("the pickle names a global through the copyreg extension registry (EXT1/2/4); refused");
                case 0x97: throw new UnsafePickleException("the pickle asks for an out-of-band buffer (NEXT_BUFFER); refused");
                case 0x98: break; // READONLY_BUFFER
                default: throw new InvalidDataException($"unknown pickle opcode 0x{op:x2} at byte {_reader.BaseStream.Position - 1}");
            }
        }
    }

    /// <summary>The allowed globals, each as the handler called when the pickle applies it.</summary>
    private static object Global(string module, string name)
    {
        string full = $"{module}.{name}";
        if (module == "torch" && TorchDTypes.StorageNames.Contains(name)) return new StorageType(name);
        return full switch
        {
            "collections.OrderedDict" => new Handler(full, args => args.Length == 0
                ? new PickleDict()
                : throw new UnsafePickleException("collections.OrderedDict called with arguments; refused")),
            "torch._utils._rebuild_tensor" => new Handler(full, args => RebuildTensor(full, args, 4)),
            "torch._utils._rebuild_tensor_v2" => new Handler(full, args => RebuildTensor(full, args, 6)),
            "torch._utils._rebuild_parameter" => new Handler(full, args =>
                args.Length >= 1 && args[0] is PendingTensor t ? t : throw new InvalidDataException($"{full} without a tensor")),
            _ => throw Refused(full),
        };
    }

    private static UnsafePickleException Refused(string global) => new(
        $"the pickle names the global '{global}', which is not a tensor, a storage, a plain container or a number; " +
        "refused (a checkpoint that needs it could run code or build arbitrary objects when loaded)");

    private static PendingTensor RebuildTensor(string name, object?[] args, int minArgs)
    {
        if (args.Length < minArgs) throw new InvalidDataException($"{name} with {args.Length} arguments");
        var storage = args[0] as StorageRef ?? throw new InvalidDataException($"{name} without a storage");
        long offset = Int(args[1], name);
        var shape = Ints(args[2], name);
        var stride = Ints(args[3], name);
        if (shape.Length != stride.Length) throw new InvalidDataException($"{name}: shape and stride of different lengths");
        return new PendingTensor(storage, offset, shape, stride);
    }

    private static object Call(object? callable, object?[] args) => callable switch
    {
        Handler h => h.Apply(args),
        StorageType s => throw new UnsafePickleException($"the pickle calls torch.{s.Name} to build a storage inline; refused"),
        _ => throw new UnsafePickleException($"the pickle calls a {Describe(callable)}, which is not an allowed global; refused"),
    };

    private static void Build(object? target, object? state)
    {
        // OrderedDict's state is its instance __dict__ (state_dict's _metadata): accepted and dropped.
        if (target is PickleDict) return;
        throw new UnsafePickleException($"the pickle sets the state of a {Describe(target)} (BUILD); refused");
    }

    private static string Describe(object? value) => value?.GetType().Name ?? "None";

    private static long Int(object? value, string where) => value is long l ? l : throw new InvalidDataException($"{where}: {Describe(value)} where an integer was expected");

    private static long[] Ints(object? value, string where) => value is object?[] items
        ? items.Select(i => Int(i, where)).ToArray()
        : throw new InvalidDataException($"{where}: {Describe(value)} where a tuple of integers was expected");

    private static object Integer(BigInteger value) => value >= long.MinValue && value <= long.MaxValue ? (long)value : value;

    private static long ParseIntLine(string line) => line switch
    {
        "00" => 0, // False in protocol 0
        "01" => 1, // True
        _ => long.Parse(line, System.Globalization.CultureInfo.InvariantCulture),
    };

    private static string Unquote(string s) =>
        s.Length >= 2 && (s[0] == '\'' || s[0] == '"') && s[^1] == s[0] ? s[1..^1] : throw new InvalidDataException("malformed STRING opcode");

    private static void SetItems(PickleDict dict, List<object?> items)
    {
        if (items.Count % 2 != 0) throw new InvalidDataException("odd number of items for a dict");
        for (int i = 0; i < items.Count; i += 2) dict.Set(items[i], items[i + 1]);
    }

    private static T As<T>(object? value, string op) =>
        value is T t ? t : throw new InvalidDataException($"{op} on a {Describe(value)}, which this reader does not build");

    private int Length(long n) => n >= 0 && n <= _reader.BaseStream.Length - _reader.BaseStream.Position
        ? (int)n
        : throw new InvalidDataException($"a pickle item of {n} bytes runs past the end of the data");

    private byte[] Bytes(int n)
    {
        var bytes = _reader.ReadBytes(n);
        return bytes.Length == n ? bytes : throw new EndOfStreamException("pickle cut short");
    }

    private string Line()
    {
        var bytes = new List<byte>();
        while (true)
        {
            byte b = _reader.ReadByte();
            if (b == (byte)'\n') break;
            bytes.Add(b);
            if (bytes.Count > 1 << 16) throw new InvalidDataException("a pickle line longer than 64 KiB");
        }
        return Encoding.UTF8.GetString(bytes.ToArray()).TrimEnd('\r');
    }

    private object? MemoGet(long key) => _memo.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"pickle memo {key} read before it was written");

    private void Push(object? value) => _stack.Add(value);

    private object? Peek() => _stack.Count > 0 && !ReferenceEquals(_stack[^1], Mark) ? _stack[^1] : throw new InvalidDataException("pickle stack underflow");

    private object? Pop()
    {
        var v = Peek();
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private List<object?> PopMark()
    {
        if (_marks.Count == 0) throw new InvalidDataException("pickle MARK missing");
        int at = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(at + 1, _stack.Count - at - 1);
        _stack.RemoveRange(at, _stack.Count - at);
        return items;
    }

    private sealed record Handler(string Name, Func<object?[], object> Apply);
}

/// <summary>A pickled dict (or OrderedDict), keys in the order the pickle set them.</summary>
internal sealed class PickleDict
{
    private readonly List<object?> _keys = [];
    private readonly Dictionary<object, object?> _values = [];

    /// <summary>The keys in insertion order.</summary>
    public IReadOnlyList<object?> Keys => _keys;

    /// <summary>The values in key order.</summary>
    public IEnumerable<object?> Values => _keys.Select(k => this[k]);

    /// <summary>Sets <paramref name="key"/> (a string or an integer; None and tuples are kept by identity).</summary>
    public void Set(object? key, object? value)
    {
        var k = key ?? NoneKey;
        if (!_values.ContainsKey(k)) _keys.Add(key);
        _values[k] = value;
    }

    /// <summary>The value under a string key, or false.</summary>
    public bool TryGet(string key, out object? value) => _values.TryGetValue(key, out value);

    /// <summary>The value under <paramref name="key"/>.</summary>
    public object? this[object? key] => _values[key ?? NoneKey];

    private static readonly object NoneKey = new();
}

/// <summary>A storage class named in the pickle (<c>torch.FloatStorage</c> ...).</summary>
internal sealed record StorageType(string Name);

/// <summary>
/// A storage the pickle refers to by persistent id: its key, element type and number of elements; for a legacy-format
/// view of a larger storage, the view's first element in it.
/// </summary>
internal sealed record StorageRef(string Key, TorchSharp.torch.ScalarType DType, long Count, long ViewOffset = 0);

/// <summary>A tensor as the pickle describes it, built from its storage once the storages are read.</summary>
internal sealed record PendingTensor(StorageRef Storage, long Offset, long[] Shape, long[] Stride);

/// <summary>A pickle that names a global outside the allowed set, or builds objects by other means.</summary>
public sealed class UnsafePickleException(string message) : Exception(message);
