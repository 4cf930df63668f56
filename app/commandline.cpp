#include "commandline.h"

#include "figureexport.h"
#include "figures.h"
#include "tracejson.h"
#include "workspace.h"

#include <QCommandLineParser>
#include <QFileInfo>
#include <QJsonDocument>
#include <QSaveFile>
#include <QTextStream>

#include <cstdio>

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
            if (const QString problem = validateConfig(config); !problem.isEmpty())
                return R::failure(problem);
            result.config = config;
            result.heads = defaultHeads(config);
        }
        if (parser.isSet(noPositional))
            result.config.positional = false;
        if (result.text.trimmed().isEmpty())
            return R::failure(QStringLiteral("the text is empty: give a sentence with --text"));
        if (parser.isSet(mask) && !maskModeFromName(parser.value(mask), &result.settings.mask))
            return R::failure(QStringLiteral("--mask must be none, causal or keys (got \"%1\")").arg(parser.value(mask)));
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
    int code = 0;
    if (!parse(parser, arguments, &code))
        return code;
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
    parser.setApplicationDescription(QStringLiteral("Render a figure of one head to PNG, SVG or PDF."));
    parser.addPositionalArgument(QStringLiteral("export"), QStringLiteral("The subcommand."));
    ModelOptions model;
    model.addTo(parser);
    const QCommandLineOption view(QStringLiteral("view"), QStringLiteral("heatmap."), QStringLiteral("VIEW"), QStringLiteral("heatmap"));
    const QCommandLineOption head(QStringLiteral("head"), QStringLiteral("Head index (0-based)."), QStringLiteral("N"), QStringLiteral("0"));
    const QCommandLineOption layer(QStringLiteral("layer"), QStringLiteral("Layer index (0-based)."), QStringLiteral("L"), QStringLiteral("0"));
    const QCommandLineOption format(QStringLiteral("format"), QStringLiteral("png, svg or pdf (default: from the --out suffix)."), QStringLiteral("FORMAT"));
    const QCommandLineOption dpi(QStringLiteral("dpi"), QStringLiteral("PNG resolution (default 192)."), QStringLiteral("DPI"), QStringLiteral("192"));
    const QCommandLineOption stage(QStringLiteral("stage"), QStringLiteral("scores, scaled, masked or weights (default)."), QStringLiteral("STAGE"), QStringLiteral("weights"));
    const QCommandLineOption colorMap(QStringLiteral("colormap"), QStringLiteral("viridis, cividis, grayscale or diverging."), QStringLiteral("NAME"));
    const QCommandLineOption numbers(QStringLiteral("numbers"), QStringLiteral("Write the value in each cell."));
    parser.addOptions({view, head, layer, format, dpi, stage, colorMap, numbers});
    int code = 0;
    if (!parse(parser, arguments, &code))
        return code;

    if (parser.value(view) != QStringLiteral("heatmap"))
        return fail(kUsage, QStringLiteral("--view must be heatmap (got \"%1\")").arg(parser.value(view)));
    const QString out = parser.value(model.out);
    if (out.isEmpty())
        return fail(kUsage, QStringLiteral("--out FILE is required"));
    FigureFormat figureFormat = FigureFormat::Png;
    const QString formatName = parser.isSet(format) ? parser.value(format) : QFileInfo(out).suffix();
    if (!figureFormatFromName(formatName, &figureFormat))
        return fail(kUsage, QStringLiteral("--format must be png, svg or pdf (got \"%1\")").arg(formatName));
    bool ok = false;
    const int dpiValue = parser.value(dpi).toInt(&ok);
    if (!ok)
        return fail(kUsage, QStringLiteral("--dpi must be a whole number (got \"%1\")").arg(parser.value(dpi)));
    HeatmapStage heatmapStage = HeatmapStage::Weights;
    if (!heatmapStageFromName(parser.value(stage), &heatmapStage))
        return fail(kUsage, QStringLiteral("--stage must be scores, scaled, masked or weights (got \"%1\")").arg(parser.value(stage)));
    ColorMapKind colors = heatmapStage == HeatmapStage::Weights ? ColorMapKind::Viridis : ColorMapKind::Diverging;
    if (parser.isSet(colorMap) && !colorMapFromName(parser.value(colorMap), &colors))
        return fail(kUsage, QStringLiteral("--colormap must be viridis, cividis, grayscale or diverging (got \"%1\")").arg(parser.value(colorMap)));

    const Result<Workspace> workspace = model.workspaceFrom(parser);
    if (!workspace)
        return fail(kUsage, workspace.error);
    const Workspace &w = *workspace.value;
    const int layerIndex = parser.value(layer).toInt(&ok);
    if (!ok || layerIndex != 0)
        return fail(kUsage, QStringLiteral("--layer must be 0: the teaching model has one layer (got \"%1\")").arg(parser.value(layer)));
    const int headIndex = parser.value(head).toInt(&ok);
    if (!ok || headIndex < 0 || headIndex >= int(w.heads.size()))
        return fail(kUsage, QStringLiteral("--head must be between 0 and %1 (got \"%2\")").arg(w.heads.size() - 1).arg(parser.value(head)));

    const TeachingTrace trace = traceTeachingModel(w.text, w.config, w.heads, w.settings);
    if (trace.tokens.isEmpty())
        return fail(kUsage, QStringLiteral("the text has no tokens"));
    HeatmapFigure figure = teachingHeatmap(trace, w.text, w.config, w.heads[size_t(headIndex)], headIndex, heatmapStage, colors);
    figure.showNumbers = parser.isSet(numbers);
    figure.vectorCells = figureFormat != FigureFormat::Png;
    HeatmapStyle style;
    style.font = figureFont();
    const QSizeF size = preferredHeatmapSize(figure, style);
    const QString error = exportFigure(
        [&](QPainter &painter, const QRectF &area) { paintHeatmapFigure(painter, area, figure, style); },
        size, figureFormat, out, dpiValue, figure.caption.value(1));
    if (!error.isEmpty())
        return fail(kFailure, error);
    return 0;
}

} // namespace

bool isSubcommand(const QString &word)
{
    return word == QStringLiteral("trace") || word == QStringLiteral("export");
}

int runSubcommand(const QStringList &arguments)
{
    const QString command = arguments.value(1);
    if (command == QStringLiteral("trace"))
        return runTrace(arguments);
    if (command == QStringLiteral("export"))
        return runExport(arguments);
    return fail(kUsage, QStringLiteral("unknown command \"%1\" (commands: trace, export)").arg(command));
}

} // namespace studio
