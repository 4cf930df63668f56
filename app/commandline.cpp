#include "commandline.h"

#include "checkpoint.h"
#include "figurefile.h"
#include "figures.h"
#include "attentionresult.h"
#include "tracejson.h"
#include "workspace.h"

#include <QCommandLineParser>
#include <QFileInfo>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>
#include <QTextStream>

#include <cstdio>
#include <optional>

namespace studio {

namespace {

constexpr int kFailure = 1;
constexpr int kUsage = 2;

int fail(int code, const QString &message)
{
    QTextStream(stderr) << "attention-studio: error: " << message << '\n';
    return code;
}

// Options shared by the subcommands that run the teaching model.
struct ModelOptions {
    QCommandLineOption text{QStringLiteral("text"), QStringLiteral("The sentence."), QStringLiteral("TEXT")};
    QCommandLineOption workspace{QStringLiteral("workspace"), QStringLiteral("Workspace file with sentence, settings and weights."), QStringLiteral("FILE")};
    QCommandLineOption mask{QStringLiteral("mask"), QStringLiteral("none, causal or keys."), QStringLiteral("MODE")};
    QCommandLineOption maskedKeys{QStringLiteral("masked-keys"), QStringLiteral("Comma-separated key positions hidden with --mask keys."), QStringLiteral("LIST")};
    QCommandLineOption temperature{QStringLiteral("temperature"), QStringLiteral("Softmax temperature τ > 0."), QStringLiteral("T")};
    QCommandLineOption noScale{QStringLiteral("no-scale"), QStringLiteral("Do not divide scores by √d_head.")};
    QCommandLineOption out{QStringLiteral("out"), QStringLiteral("Output file."), QStringLiteral("FILE")};
    QCommandLineOption dModel{QStringLiteral("d-model"), QStringLiteral("Embedding size of the teaching model (default 8); resets the weights to the defaults."), QStringLiteral("C")};
    QCommandLineOption dHead{QStringLiteral("d-head"), QStringLiteral("Size of each head (default 4); resets the weights to the defaults."), QStringLiteral("D")};
    QCommandLineOption heads{QStringLiteral("heads"), QStringLiteral("Number of heads (default 3); resets the weights to the defaults."), QStringLiteral("H")};
    QCommandLineOption noPositional{QStringLiteral("no-positional"), QStringLiteral("Leave out the positional encodings.")};

    void addTo(QCommandLineParser &parser) const
    {
        parser.addOptions({text, workspace, mask, maskedKeys, temperature, noScale, out, dModel, dHead, heads, noPositional});
    }

    // Reads a whole-number option into *value; false with *error set when it is not one.
    static bool readInt(const QCommandLineParser &parser, const QCommandLineOption &option, int *value, QString *error)
    {
        if (!parser.isSet(option))
            return true;
        bool ok = false;
        *value = parser.value(option).toInt(&ok);
        if (!ok)
            *error = QStringLiteral("--%1 must be a whole number (got \"%2\")").arg(option.names().constFirst(), parser.value(option));
        return ok;
    }

    // The workspace the options describe, or an error message.
    Result<Workspace> workspaceFrom(const QCommandLineParser &parser) const
    {
        using R = Result<Workspace>;
        Workspace result = defaultWorkspace();
        if (parser.isSet(workspace)) {
            Result<Workspace> loaded = loadWorkspace(parser.value(workspace));
            if (!loaded)
                return loaded;
            result = *loaded.value;
        }
        if (parser.isSet(text))
            result.text = parser.value(text);
        if (parser.isSet(dModel) || parser.isSet(dHead) || parser.isSet(heads)) {
            TeachingConfig config = result.config;
            QString error;
            if (!readInt(parser, dModel, &config.dModel, &error) || !readInt(parser, dHead, &config.dHead, &error)
                || !readInt(parser, heads, &config.heads, &error))
                return R::failure(error);
            if (const Status valid = validateConfig(config); !valid)
                return R::failure(valid.error);
            result.config = config;
            result.heads = defaultHeads(config);
        }
        if (parser.isSet(noPositional))
            result.config.positional = false;
        if (result.text.trimmed().isEmpty())
            return R::failure(QStringLiteral("the text is empty: give a sentence with --text"));
        if (parser.isSet(mask)) {
            const std::optional<MaskMode> parsed = maskModeFromName(parser.value(mask));
            if (!parsed)
                return R::failure(QStringLiteral("--mask must be none, causal or keys (got \"%1\")").arg(parser.value(mask)));
            result.settings.mask = *parsed;
        }
        if (parser.isSet(maskedKeys)) {
            result.settings.maskedKeys.clear();
            for (const QString &item : parser.value(maskedKeys).split(QLatin1Char(','), Qt::SkipEmptyParts)) {
                bool ok = false;
                const int key = item.trimmed().toInt(&ok);
                if (!ok || key < 0)
                    return R::failure(QStringLiteral("--masked-keys takes token positions such as 0,3 (got \"%1\")").arg(item));
                result.settings.maskedKeys.append(key);
            }
            if (!parser.isSet(mask))
                result.settings.mask = MaskMode::Keys;
        }
        if (parser.isSet(temperature)) {
            bool ok = false;
            const double tau = parser.value(temperature).toDouble(&ok);
            if (!ok || !(tau > 0.0) || !std::isfinite(tau))
                return R::failure(QStringLiteral("--temperature must be a number > 0 (got \"%1\")").arg(parser.value(temperature)));
            result.settings.temperature = tau;
        }
        if (parser.isSet(noScale))
            result.settings.scale = false;
        return {std::move(result), {}};
    }
};

// Options for loaded checkpoints.
struct CheckpointOptions {
    QCommandLineOption model{QStringLiteral("model"), QStringLiteral("A Hugging Face model folder (GPT-2 or BERT) to run instead of the teaching model."), QStringLiteral("DIR")};
    QCommandLineOption textPair{QStringLiteral("text-pair"), QStringLiteral("BERT: the second sentence."), QStringLiteral("TEXT")};
    QCommandLineOption threads{QStringLiteral("threads"), QStringLiteral("Threads for the forward pass (default 2)."), QStringLiteral("N"), QStringLiteral("2")};

    void addTo(QCommandLineParser &parser) const { parser.addOptions({model, textPair, threads}); }
};

// Opens the checkpoint, tokenizes, and runs the forward pass keeping the stages of the heads asked
// for. Errors are written and returned as an exit code through *code.
struct CheckpointRun {
    std::shared_ptr<Checkpoint> checkpoint;
    PreparedInput input;
    ModelTrace trace;
};

std::optional<CheckpointRun> runCheckpoint(const QCommandLineParser &parser, const CheckpointOptions &options,
                                           const QString &text, const std::vector<std::pair<int, int>> &stageHeads,
                                           bool allStages, int *code, bool keepLayerInputs = false)
{
    Result<std::shared_ptr<Checkpoint>> checkpoint = openCheckpoint(parser.value(options.model));
    if (!checkpoint) {
        *code = fail(kFailure, checkpoint.error);
        return std::nullopt;
    }
    CheckpointRun run;
    run.checkpoint = *checkpoint.value;
    Result<PreparedInput> input = prepareInput(*run.checkpoint, text, parser.value(options.textPair));
    if (!input) {
        *code = fail(kUsage, input.error);
        return std::nullopt;
    }
    run.input = std::move(*input.value);
    if (run.input.truncatedFrom > 0)
        QTextStream(stderr) << "attention-studio: note: " << run.input.truncatedFrom << " tokens truncated to the model's "
                            << run.checkpoint->config.maxPositions << " positions\n";
    const ModelConfig &config = run.checkpoint->config;
    ForwardOptions forward;
    bool ok = false;
    forward.threads = parser.value(options.threads).toInt(&ok);
    if (!ok || forward.threads < 1 || forward.threads > 64) {
        *code = fail(kUsage, QStringLiteral("--threads must be between 1 and 64"));
        return std::nullopt;
    }
    for (const auto &[layer, head] : stageHeads) {
        if (layer < 0 || layer >= config.layers || head < 0 || head >= config.heads) {
            *code = fail(kUsage, QStringLiteral("layer %1 head %2 does not exist: %3 has layers 0..%4 and heads 0..%5")
                                     .arg(layer).arg(head).arg(run.checkpoint->name).arg(config.layers - 1).arg(config.heads - 1));
            return std::nullopt;
        }
    }
    forward.stageHeads = stageHeads;
    forward.keepLayerInputs = keepLayerInputs;
    if (allStages) {
        forward.stageHeads.clear();
        for (int l = 0; l < config.layers; ++l)
            for (int h = 0; h < config.heads; ++h)
                forward.stageHeads.push_back({l, h});
    }
    run.trace = run.checkpoint->model->forward(run.input.forward, forward);
    return run;
}

// --layer and --head select heads: both given, one head; one given, all of that layer or head.
bool selectedHeads(const QCommandLineParser &parser, const QCommandLineOption &layer, const QCommandLineOption &head,
                   std::vector<std::pair<int, int>> *out, int layers, int heads, int *code)
{
    bool ok = true;
    const int l = parser.isSet(layer) ? parser.value(layer).toInt(&ok) : -1;
    if (!ok) {
        *code = fail(kUsage, QStringLiteral("--layer must be a whole number"));
        return false;
    }
    const int h = parser.isSet(head) ? parser.value(head).toInt(&ok) : -1;
    if (!ok) {
        *code = fail(kUsage, QStringLiteral("--head must be a whole number"));
        return false;
    }
    for (int li = 0; li < layers; ++li)
        for (int hi = 0; hi < heads; ++hi)
            if ((l < 0 || l == li) && (h < 0 || h == hi))
                out->push_back({li, hi});
    if (out->empty() || (l >= layers) || (h >= heads)) {
        *code = fail(kUsage, QStringLiteral("there is no layer %1 head %2 (layers 0..%3, heads 0..%4)")
                                 .arg(l).arg(h).arg(layers - 1).arg(heads - 1));
        return false;
    }
    return true;
}

// Parses; on --help prints help and returns 0 through *exitCode.
bool parse(QCommandLineParser &parser, const QStringList &arguments, int *exitCode)
{
    parser.addHelpOption();
    if (!parser.parse(arguments)) {
        *exitCode = fail(kUsage, parser.errorText());
        return false;
    }
    if (parser.isSet(QStringLiteral("help"))) {
        QTextStream(stdout) << parser.helpText();
        *exitCode = 0;
        return false;
    }
    if (parser.positionalArguments().size() > 1) {
        *exitCode = fail(kUsage, QStringLiteral("unexpected argument \"%1\"").arg(parser.positionalArguments().at(1)));
        return false;
    }
    return true;
}

QString writeText(const QString &path, const QByteArray &bytes)
{
    if (path.isEmpty() || path == QStringLiteral("-")) {
        std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stdout);
        std::fflush(stdout);
        return {};
    }
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit())
        return QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
    return {};
}

int runTrace(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Print every stage of self-attention for a sentence as JSON."));
    parser.addPositionalArgument(QStringLiteral("trace"), QStringLiteral("The subcommand."));
    ModelOptions model;
    model.addTo(parser);
    const QCommandLineOption stages(QStringLiteral("stages"), QStringLiteral("Include w_q, w_k, w_v, q, k, v, scores, scaled, masked, output."));
    parser.addOption(stages);
    CheckpointOptions checkpointOptions;
    checkpointOptions.addTo(parser);
    const QCommandLineOption layer(QStringLiteral("layer"), QStringLiteral("With --model and --stages: the layer whose stages to include (0-based)."), QStringLiteral("L"));
    const QCommandLineOption head(QStringLiteral("head"), QStringLiteral("With --model and --stages: the head whose stages to include (0-based)."), QStringLiteral("H"));
    parser.addOptions({layer, head});
    int code = 0;
    if (!parse(parser, arguments, &code))
        return code;

    if (parser.isSet(checkpointOptions.model)) {
        if (parser.value(model.text).trimmed().isEmpty())
            return fail(kUsage, QStringLiteral("the text is empty: give a sentence with --text"));
        // The selection is checked against the model once it is open.
        Result<std::shared_ptr<Checkpoint>> probe = openCheckpoint(parser.value(checkpointOptions.model));
        if (!probe)
            return fail(kFailure, probe.error);
        std::vector<std::pair<int, int>> heads;
        if (parser.isSet(stages) && (parser.isSet(layer) || parser.isSet(head))
            && !selectedHeads(parser, layer, head, &heads, (*probe.value)->config.layers, (*probe.value)->config.heads, &code))
            return code;
        const bool allStages = parser.isSet(stages) && heads.empty();
        std::optional<CheckpointRun> run = runCheckpoint(parser, checkpointOptions, parser.value(model.text), heads, allStages, &code);
        if (!run)
            return code;
        const QJsonObject json = modelTraceToJson(*run->checkpoint, run->input, run->trace);
        if (const QString error = writeText(parser.value(model.out), QJsonDocument(json).toJson(QJsonDocument::Compact) + '\n');
            !error.isEmpty())
            return fail(kFailure, error);
        return 0;
    }

    const Result<Workspace> workspace = model.workspaceFrom(parser);
    if (!workspace)
        return fail(kUsage, workspace.error);
    const Workspace &w = *workspace.value;
    const TeachingTrace trace = traceTeachingModel(w.text, w.config, w.heads, w.settings);
    if (trace.tokens.isEmpty())
        return fail(kUsage, QStringLiteral("the text has no tokens"));
    const QJsonObject json = teachingTraceToJson(trace, w.config, w.heads, w.settings, parser.isSet(stages));
    if (const QString error = writeText(parser.value(model.out), QJsonDocument(json).toJson(QJsonDocument::Compact) + '\n');
        !error.isEmpty())
        return fail(kFailure, error);
    return 0;
}

int runExport(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Render a view to PNG, SVG or PDF."));
    parser.addPositionalArgument(QStringLiteral("export"), QStringLiteral("The subcommand."));
    ModelOptions model;
    model.addTo(parser);
    CheckpointOptions checkpointOptions;
    checkpointOptions.addTo(parser);
    const QCommandLineOption view(QStringLiteral("view"), QStringLiteral("heatmap, arcs, grid or steps."), QStringLiteral("VIEW"), QStringLiteral("heatmap"));
    const QCommandLineOption head(QStringLiteral("head"), QStringLiteral("Head index (0-based)."), QStringLiteral("N"), QStringLiteral("0"));
    const QCommandLineOption layer(QStringLiteral("layer"), QStringLiteral("Layer index (0-based)."), QStringLiteral("L"), QStringLiteral("0"));
    const QCommandLineOption format(QStringLiteral("format"), QStringLiteral("png, svg or pdf (default: from the --out suffix)."), QStringLiteral("FORMAT"));
    const QCommandLineOption dpi(QStringLiteral("dpi"), QStringLiteral("PNG resolution (default 192)."), QStringLiteral("DPI"), QStringLiteral("192"));
    const QCommandLineOption stage(QStringLiteral("stage"), QStringLiteral("heatmap: scores, scaled, masked or weights (default); steps: embeddings, projections, scores, scaled, masked, weights or output."), QStringLiteral("STAGE"), QStringLiteral("weights"));
    const QCommandLineOption projection(QStringLiteral("projection"), QStringLiteral("steps at the projections stage: q, k or v."), QStringLiteral("P"), QStringLiteral("q"));
    const QCommandLineOption query(QStringLiteral("query"), QStringLiteral("The selected query token (0-based), outlined in the figure."), QStringLiteral("Q"));
    const QCommandLineOption heads(QStringLiteral("heads"), QStringLiteral("arcs: comma-separated heads to show (default: all)."), QStringLiteral("LIST"));
    const QCommandLineOption threshold(QStringLiteral("threshold"), QStringLiteral("arcs: hide lines below this weight (default 0.02)."), QStringLiteral("W"), QStringLiteral("0.02"));
    const QCommandLineOption topK(QStringLiteral("top-k"), QStringLiteral("arcs: keep the k strongest lines per query (default: all)."), QStringLiteral("K"), QStringLiteral("0"));
    const QCommandLineOption colorMap(QStringLiteral("colormap"), QStringLiteral("viridis, cividis, grayscale or diverging."), QStringLiteral("NAME"));
    const QCommandLineOption numbers(QStringLiteral("numbers"), QStringLiteral("Write the value in each cell."));
    parser.addOptions({view, head, layer, format, dpi, stage, projection, query, heads, threshold, topK, colorMap, numbers});
    int code = 0;
    if (!parse(parser, arguments, &code))
        return code;

    const QString viewName = parser.value(view);
    if (!QStringList{QStringLiteral("heatmap"), QStringLiteral("arcs"), QStringLiteral("grid"), QStringLiteral("steps")}.contains(viewName))
        return fail(kUsage, QStringLiteral("--view must be heatmap, arcs, grid or steps (got \"%1\")").arg(viewName));
    const QString out = parser.value(model.out);
    if (out.isEmpty())
        return fail(kUsage, QStringLiteral("--out FILE is required"));
    const QString formatName = parser.isSet(format) ? parser.value(format) : QFileInfo(out).suffix();
    const std::optional<FigureFormat> parsedFormat = figureFormatFromName(formatName);
    if (!parsedFormat)
        return fail(kUsage, QStringLiteral("--format must be png, svg or pdf (got \"%1\")").arg(formatName));
    const FigureFormat figureFormat = *parsedFormat;
    bool ok = false;
    const int dpiValue = parser.value(dpi).toInt(&ok);
    if (!ok)
        return fail(kUsage, QStringLiteral("--dpi must be a whole number (got \"%1\")").arg(parser.value(dpi)));
    HeatmapStage heatmapStage = HeatmapStage::Weights;
    Stage stepStage = Stage::Weights;
    if (viewName == QStringLiteral("steps")) {
        const std::optional<Stage> parsed = stageFromName(parser.value(stage));
        if (!parsed) {
            QStringList names;
            for (Stage s : kStages)
                names.append(stageName(s));
            return fail(kUsage, QStringLiteral("--stage must be one of %1 (got \"%2\")").arg(names.join(QStringLiteral(", ")), parser.value(stage)));
        }
        stepStage = *parsed;
    } else if (const std::optional<HeatmapStage> parsed = heatmapStageFromName(parser.value(stage))) {
        heatmapStage = *parsed;
    } else {
        return fail(kUsage, QStringLiteral("--stage must be scores, scaled, masked or weights (got \"%1\")").arg(parser.value(stage)));
    }
    const std::optional<Projection> projectionChoice = projectionFromName(parser.value(projection));
    if (!projectionChoice)
        return fail(kUsage, QStringLiteral("--projection must be q, k or v"));
    const bool signedValues = viewName == QStringLiteral("steps") ? stepStage != Stage::Weights : heatmapStage != HeatmapStage::Weights;
    ColorMapKind preferredColors = ColorMapKind::Viridis;
    if (parser.isSet(colorMap)) {
        const std::optional<ColorMapKind> parsed = colorMapFromName(parser.value(colorMap));
        if (!parsed)
            return fail(kUsage, QStringLiteral("--colormap must be viridis, cividis, grayscale or diverging (got \"%1\")").arg(parser.value(colorMap)));
        preferredColors = *parsed;
    }
    const ColorMapKind colors = colorMapFor(signedValues ? ValueKind::Signed : ValueKind::Weights, preferredColors);
    const int layerIndex = parser.value(layer).toInt(&ok);
    if (!ok)
        return fail(kUsage, QStringLiteral("--layer must be a whole number"));
    const int headIndex = parser.value(head).toInt(&ok);
    if (!ok)
        return fail(kUsage, QStringLiteral("--head must be a whole number"));
    const float thresholdValue = parser.value(threshold).toFloat(&ok);
    if (!ok || thresholdValue < 0 || thresholdValue > 1)
        return fail(kUsage, QStringLiteral("--threshold must be between 0 and 1"));
    const int topKValue = parser.value(topK).toInt(&ok);
    if (!ok || topKValue < 0)
        return fail(kUsage, QStringLiteral("--top-k must be a whole number ≥ 0"));

    // The result and the selected head's details, from either kind of model.
    AttentionResult result;
    HeadDetails details;
    FigureContext context;
    if (parser.isSet(checkpointOptions.model)) {
        if (parser.value(model.text).trimmed().isEmpty())
            return fail(kUsage, QStringLiteral("the text is empty: give a sentence with --text"));
        std::optional<CheckpointRun> run = runCheckpoint(parser, checkpointOptions, parser.value(model.text), {}, false, &code, true);
        if (!run)
            return code;
        const ModelConfig &config = run->checkpoint->config;
        if (layerIndex < 0 || layerIndex >= config.layers || headIndex < 0 || headIndex >= config.heads)
            return fail(kUsage, QStringLiteral("there is no layer %1 head %2 (layers 0..%3, heads 0..%4)")
                                    .arg(layerIndex).arg(headIndex).arg(config.layers - 1).arg(config.heads - 1));
        result = checkpointResult(*run->checkpoint, run->input, std::move(run->trace));
        details = checkpointDetails(*run->checkpoint, result, run->input.forward, layerIndex, headIndex);
        context.model = checkpointDescription(*run->checkpoint);
        context.sentence = parser.value(model.text);
        context.headName = details.name;
    } else {
        const Result<Workspace> workspace = model.workspaceFrom(parser);
        if (!workspace)
            return fail(kUsage, workspace.error);
        const Workspace &w = *workspace.value;
        if (layerIndex != 0)
            return fail(kUsage, QStringLiteral("--layer must be 0: the teaching model has one layer (got %1)").arg(layerIndex));
        if (headIndex < 0 || headIndex >= int(w.heads.size()))
            return fail(kUsage, QStringLiteral("--head must be between 0 and %1 (got %2)").arg(w.heads.size() - 1).arg(headIndex));
        const TeachingTrace trace = traceTeachingModel(w.text, w.config, w.heads, w.settings);
        if (trace.tokens.isEmpty())
            return fail(kUsage, QStringLiteral("the text has no tokens"));
        result = teachingResult(trace, w);
        details = teachingDetails(w, trace, headIndex);
        context.model = teachingModelDescription(w.config);
        context.sentence = w.text;
        context.headName = details.name;
    }
    context.layer = layerIndex;
    context.head = headIndex;
    int selectedQuery = -1;
    if (parser.isSet(query)) {
        selectedQuery = parser.value(query).toInt(&ok);
        if (!ok || selectedQuery < 0 || selectedQuery >= result.tokenCount())
            return fail(kUsage, QStringLiteral("--query must be a token position between 0 and %1").arg(result.tokenCount() - 1));
    }

    const QFont font = figureFont();
    FigurePainter paint;
    QSizeF size;
    HeatmapFigure heatmap;
    ArcFigure arcs;
    GridFigure grid;
    std::vector<std::vector<QImage>> thumbnails;
    HeatmapStyle style;
    style.font = font;
    if (viewName == QStringLiteral("heatmap") || viewName == QStringLiteral("steps")) {
        heatmap = viewName == QStringLiteral("heatmap")
            ? headHeatmap(result, details, context, heatmapStage, colors, selectedQuery)
            : stageFigure(result, details, context, stepStage, *projectionChoice, colors, selectedQuery);
        if (viewName == QStringLiteral("steps"))
            heatmap.caption.append(QStringLiteral("%1. %2:   %3").arg(int(stepStage) + 1).arg(stageTitle(stepStage), stageFormula(stepStage)));
        heatmap.showNumbers = parser.isSet(numbers) || viewName == QStringLiteral("steps");
        heatmap.vectorCells = figureFormat != FigureFormat::Png;
        size = preferredHeatmapSize(heatmap, style);
        paint = [&](QPainter &painter, const QRectF &area) { paintHeatmapFigure(painter, area, heatmap, style); };
    } else if (viewName == QStringLiteral("arcs")) {
        QList<int> shown;
        if (parser.isSet(heads)) {
            for (const QString &item : parser.value(heads).split(QLatin1Char(','), Qt::SkipEmptyParts)) {
                const int h = item.trimmed().toInt(&ok);
                if (!ok || h < 0 || h >= result.heads)
                    return fail(kUsage, QStringLiteral("--heads takes head indices between 0 and %1 (got \"%2\")").arg(result.heads - 1).arg(item));
                shown.append(h);
            }
        } else {
            for (int h = 0; h < result.heads; ++h)
                shown.append(h);
        }
        arcs = arcFigure(result, context, layerIndex, shown, ArcPruning{thresholdValue, topKValue});
        arcs.focusToken = selectedQuery;
        size = preferredArcSize(arcs, font);
        paint = [&](QPainter &painter, const QRectF &area) { paintArcFigure(painter, area, arcs, font); };
    } else {
        grid = gridFigure(result, context, preferredColors, layerIndex, headIndex);
        thumbnails = gridThumbnails(grid);
        size = preferredGridSize(grid, font);
        paint = [&](QPainter &painter, const QRectF &area) { paintGridFigure(painter, area, grid, font, thumbnails); };
    }
    if (const Status exported = exportFigure(paint, size, figureFormat, out, dpiValue, viewName); !exported)
        return fail(kFailure, exported.error);
    return 0;
}

} // namespace

int runTokenize(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Print a model's token ids and tokens for a text as JSON."));
    parser.addPositionalArgument(QStringLiteral("tokenize"), QStringLiteral("The subcommand."));
    const QCommandLineOption modelOption(QStringLiteral("model"), QStringLiteral("A Hugging Face model folder."), QStringLiteral("DIR"));
    const QCommandLineOption text(QStringLiteral("text"), QStringLiteral("The text."), QStringLiteral("TEXT"));
    const QCommandLineOption pair(QStringLiteral("text-pair"), QStringLiteral("BERT: the second sentence."), QStringLiteral("TEXT"));
    parser.addOptions({modelOption, text, pair});
    int code = 0;
    if (!parse(parser, arguments, &code))
        return code;
    if (!parser.isSet(modelOption))
        return fail(kUsage, QStringLiteral("--model DIR is required"));
    Result<std::shared_ptr<Checkpoint>> checkpoint = openCheckpoint(parser.value(modelOption));
    if (!checkpoint)
        return fail(kFailure, checkpoint.error);
    const ModelTokenizer &tokenizer = *(*checkpoint.value)->tokenizer;
    if (parser.isSet(pair) && !tokenizer.takesPairs())
        return fail(kUsage, QStringLiteral("this model takes one text; --text-pair is for BERT models"));
    Result<Encoding> encoding = tokenizer.encode(parser.value(text), parser.value(pair));
    if (!encoding)
        return fail(kUsage, encoding.error);
    QJsonArray ids, tokens, display;
    for (qsizetype i = 0; i < encoding.value->tokens.size(); ++i) {
        ids.append(encoding.value->ids[size_t(i)]);
        tokens.append(encoding.value->tokens.at(i));
        display.append(tokenizer.displayToken(encoding.value->tokens.at(i)));
    }
    const QJsonObject json{{QStringLiteral("ids"), ids}, {QStringLiteral("tokens"), tokens}, {QStringLiteral("display_tokens"), display}};
    writeText({}, QJsonDocument(json).toJson(QJsonDocument::Compact) + '\n');
    return 0;
}

bool isSubcommand(const QString &word)
{
    return word == QStringLiteral("trace") || word == QStringLiteral("export") || word == QStringLiteral("tokenize");
}

int runSubcommand(const QStringList &arguments)
{
    const QString command = arguments.value(1);
    if (command == QStringLiteral("trace"))
        return runTrace(arguments);
    if (command == QStringLiteral("export"))
        return runExport(arguments);
    if (command == QStringLiteral("tokenize"))
        return runTokenize(arguments);
    return fail(kUsage, QStringLiteral("unknown command \"%1\" (commands: trace, export, tokenize)").arg(command));
}

} // namespace studio
