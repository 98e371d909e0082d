using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace DistillSharp.Tests.Notebooks;

/// <summary>
/// The rules of the nbformat 4 JSON schema (v4.4 and v4.5) that DistillSharp's writer relies on, checked on the raw
/// JSON: required and allowed keys of the notebook, cells and outputs; cell ids (4.5: on every cell, unique,
/// <c>^[a-zA-Z0-9-_]+$</c>, 1 to 64 characters; 4.4: none); multi-line strings; MIME bundle keys; tags.
/// </summary>
internal static partial class NbformatRules
{
    public static List<string> Check(string json)
    {
        var problems = new List<string>();
        if (JsonNode.Parse(json) is not JsonObject top)
        {
            return ["top level is not an object"];
        }
        Keys(top, "notebook", ["metadata", "nbformat_minor", "nbformat", "cells"], ["metadata", "nbformat_minor", "nbformat", "cells"], problems);
        if (Int(top["nbformat"]) != 4) problems.Add("nbformat is not 4");
        int minor = Int(top["nbformat_minor"]) ?? -1;
        if (minor < 0) problems.Add("nbformat_minor is not a non-negative integer");

        if (top["metadata"] is JsonObject metadata)
        {
            if (metadata["kernelspec"] is JsonObject kernel && (Str(kernel["name"]) is null || Str(kernel["display_name"]) is null))
                problems.Add("kernelspec needs name and display_name strings");
            if (metadata["language_info"] is JsonObject language && Str(language["name"]) is null)
                problems.Add("language_info needs a name string");
        }
        else problems.Add("metadata is not an object");

        var ids = new HashSet<string>();
        var cells = top["cells"] as JsonArray ?? [];
        for (int i = 0; i < cells.Count; i++)
        {
            var where = $"cell {i + 1}";
            if (cells[i] is not JsonObject cell) { problems.Add($"{where} is not an object"); continue; }
            var type = Str(cell["cell_type"]);
            string[] required = type switch
            {
                "code" => ["cell_type", "metadata", "source", "outputs", "execution_count"],
                "markdown" or "raw" => ["cell_type", "metadata", "source"],
                _ => [],
            };
            if (required.Length == 0) { problems.Add($"{where}: cell_type {type} is not code, markdown or raw"); continue; }
            var allowed = required.Concat(type == "code" ? [] : ["attachments"]).ToList();
            if (minor >= 5) { required = [.. required, "id"]; allowed.Add("id"); }
            Keys(cell, where, required, allowed, problems);
            if (cell["id"] is { } idNode)
            {
                var id = Str(idNode);
                if (id is null || !IdPattern().IsMatch(id)) problems.Add($"{where}: id '{idNode}' does not match the id pattern");
                else if (!ids.Add(id)) problems.Add($"{where}: id '{id}' is not unique");
            }
            Multiline(cell["source"], $"{where} source", problems);
            if (cell["metadata"] is JsonObject cellMetadata)
            {
                if (cellMetadata["tags"] is { } tags)
                {
                    var list = tags as JsonArray;
                    if (list is null || list.Any(t => Str(t) is not { } s || s.Contains(',')) || list.Select(t => Str(t)).Distinct().Count() != list.Count)
                        problems.Add($"{where}: tags must be unique strings without commas");
                }
                if (cellMetadata["execution"] is JsonObject execution && execution.Any(p => Str(p.Value) is null))
                    problems.Add($"{where}: metadata.execution values must be strings (date-times)");
            }
            else problems.Add($"{where}: metadata is not an object");

            if (type == "code")
            {
                if (cell["execution_count"] is { } count && Int(count) is not >= 0) problems.Add($"{where}: execution_count is not null or a non-negative integer");
                var outputs = cell["outputs"] as JsonArray;
                if (outputs is null) { problems.Add($"{where}: outputs is not an array"); continue; }
                for (int o = 0; o < outputs.Count; o++)
                {
                    CheckOutput(outputs[o] as JsonObject, $"{where} output {o + 1}", problems);
                }
            }
        }
        return problems;
    }

    private static void CheckOutput(JsonObject? output, string where, List<string> problems)
    {
        if (output is null) { problems.Add($"{where} is not an object"); return; }
        switch (Str(output["output_type"]))
        {
            case "stream":
                Keys(output, where, ["output_type", "name", "text"], ["output_type", "name", "text"], problems);
                Multiline(output["text"], $"{where} text", problems);
                break;
            case "display_data":
                Keys(output, where, ["output_type", "data", "metadata"], ["output_type", "data", "metadata", "transient"], problems);
                Bundle(output["data"], where, problems);
                break;
            case "execute_result":
                Keys(output, where, ["output_type", "execution_count", "data", "metadata"], ["output_type", "execution_count", "data", "metadata"], problems);
                Bundle(output["data"], where, problems);
                break;
            case "error":
                Keys(output, where, ["output_type", "ename", "evalue", "traceback"], ["output_type", "ename", "evalue", "traceback"], problems);
                if (output["traceback"] is not JsonArray lines || lines.Any(l => Str(l) is null)) problems.Add($"{where}: traceback is not an array of strings");
                break;
            default:
                problems.Add($"{where}: unknown output_type");
                break;
        }
    }

    private static void Bundle(JsonNode? data, string where, List<string> problems)
    {
        if (data is not JsonObject bundle) { problems.Add($"{where}: data is not an object"); return; }
        foreach (var (mime, value) in bundle)
        {
            if (!MimePattern().IsMatch(mime)) problems.Add($"{where}: MIME type '{mime}' does not match the pattern");
            if (mime != "application/json" && !mime.EndsWith("+json", StringComparison.Ordinal)) Multiline(value, $"{where} {mime}", problems);
        }
    }

    private static void Keys(JsonObject obj, string where, IEnumerable<string> required, IEnumerable<string> allowed, List<string> problems)
    {
        foreach (var key in required.Where(k => !obj.ContainsKey(k))) problems.Add($"{where}: missing '{key}'");
        foreach (var key in obj.Select(p => p.Key).Except(allowed)) problems.Add($"{where}: '{key}' is not allowed");
    }

    private static void Multiline(JsonNode? node, string where, List<string> problems)
    {
        bool ok = Str(node) is not null || (node is JsonArray a && a.All(x => Str(x) is not null));
        if (!ok) problems.Add($"{where} is neither a string nor an array of strings");
    }

    private static string? Str(JsonNode? node) => node is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    private static int? Int(JsonNode? node) => node is JsonValue v && v.TryGetValue(out int n) ? n : null;

    [GeneratedRegex("^[a-zA-Z0-9-_]{1,64}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"^[a-zA-Z0-9]+/[a-zA-Z0-9\-\+\.]+$")]
    private static partial Regex MimePattern();
}
