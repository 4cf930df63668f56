#include "workspace.h"

#include "translationmodel.h"
#include "atomicfile.h"
#include "regularfile.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

#include <cmath>
#include <cstring>
#include <tuple>

namespace studio {

namespace {

const QString kFormatName = QStringLiteral("attention-studio-workspace");

QString typeName(QJsonValue::Type type)
{
    switch (type) {
    case QJsonValue::Null: return QStringLiteral("null");
    case QJsonValue::Bool: return QStringLiteral("a boolean");
    case QJsonValue::Double: return QStringLiteral("a number");
    case QJsonValue::String: return QStringLiteral("a string");
    case QJsonValue::Array: return QStringLiteral("an array");
    case QJsonValue::Object: return QStringLiteral("an object");
    case QJsonValue::Undefined: return QStringLiteral("missing");
    }
    return {};
}

// Reads json[key] as the expected type, or says which field is wrong by its whole path.
class FieldReader {
public:
    FieldReader(const QJsonObject &object, QString path) : m_object(object), m_path(std::move(path)) {}

    Result<QJsonValue> require(const QString &key, QJsonValue::Type type) const
    {
        const QJsonValue value = m_object.value(key);
        if (value.type() == type)
            return {value, {}};
        return Result<QJsonValue>::failure(value.isUndefined()
            ? QStringLiteral("missing field \"%1\"").arg(m_path + key)
            : QStringLiteral("field \"%1\" must be %2, not %3").arg(m_path + key, typeName(type), typeName(value.type())));
    }

    Result<int> requireInt(const QString &key) const
    {
        const Result<QJsonValue> value = require(key, QJsonValue::Double);
        if (!value)
            return Result<int>::failure(value.error);
        const double d = value.value->toDouble();
        if (d != std::floor(d) || std::abs(d) > 1e9)
            return Result<int>::failure(QStringLiteral("field \"%1\" must be a whole number").arg(m_path + key));
        return {int(d), {}};
    }

private:
    QJsonObject m_object;
    QString m_path;
};

Result<Matrix> matrixFromJson(const QJsonValue &value, int rows, int cols, const QString &path)
{
    using R = Result<Matrix>;
    if (!value.isArray())
        return R::failure(QStringLiteral("\"%1\" must be an array of %2 rows").arg(path).arg(rows));
    const QJsonArray rowArray = value.toArray();
    if (rowArray.size() != rows)
        return R::failure(QStringLiteral("\"%1\" has %2 rows, expected %3 (d_model)").arg(path).arg(rowArray.size()).arg(rows));
    Matrix matrix(rows, cols);
    for (int r = 0; r < rows; ++r) {
        const QJsonValue rowValue = rowArray.at(r);
        const QJsonArray row = rowValue.toArray();
        if (!rowValue.isArray() || row.size() != cols)
            return R::failure(QStringLiteral("\"%1\" row %2 must have %3 numbers (d_head)").arg(path).arg(r).arg(cols));
        for (int c = 0; c < cols; ++c) {
            const QJsonValue cell = row.at(c);
            // QJsonDocument reads NaN and ±Inf as null, and a number out of double range as ±Inf.
            if (!cell.isDouble() || !std::isfinite(cell.toDouble())
                || std::abs(cell.toDouble()) > double(std::numeric_limits<float>::max()))
                return R::failure(QStringLiteral("\"%1\" [%2][%3] is not a finite number").arg(path).arg(r).arg(c));
            matrix(r, c) = float(cell.toDouble());
        }
    }
    return {std::move(matrix), {}};
}

} // namespace

QJsonArray matrixToJson(const Matrix &matrix)
{
    QJsonArray rows;
    for (Eigen::Index r = 0; r < matrix.rows(); ++r) {
        QJsonArray row;
        for (Eigen::Index c = 0; c < matrix.cols(); ++c)
            row.append(double(matrix(r, c)));
        rows.append(row);
    }
    return rows;
}

QJsonArray vectorToJson(const Vector &vector)
{
    QJsonArray values;
    for (Eigen::Index i = 0; i < vector.size(); ++i)
        values.append(double(vector[i]));
    return values;
}

Workspace defaultWorkspace(const QString &text)
{
    Workspace workspace;
    workspace.text = text;
    workspace.heads = defaultHeads(workspace.config);
    return workspace;
}

namespace {

QJsonObject workspaceBodyToJson(const Workspace &workspace)
{
    QJsonArray maskedKeys;
    for (int key : workspace.settings.maskedKeys)
        maskedKeys.append(key);
    QJsonArray heads;
    for (const HeadWeights &head : workspace.heads) {
        heads.append(QJsonObject{
            {QStringLiteral("name"), head.name},
            {QStringLiteral("description"), head.description},
            {projectionMatrixName(Projection::Q).toLower(), matrixToJson(head.wQ)},
            {projectionMatrixName(Projection::K).toLower(), matrixToJson(head.wK)},
            {projectionMatrixName(Projection::V).toLower(), matrixToJson(head.wV)},
            {projectionMatrixName(Projection::O).toLower(), matrixToJson(head.wO)},
        });
    }
    return QJsonObject{
        {QStringLiteral("text"), workspace.text},
        {QStringLiteral("model"), QJsonObject{
            {QStringLiteral("d_model"), workspace.config.dModel},
            {QStringLiteral("d_head"), workspace.config.dHead},
            {QStringLiteral("heads"), workspace.config.heads},
            {QStringLiteral("positional"), workspace.config.positional},
        }},
        {QStringLiteral("settings"), QJsonObject{
            {QStringLiteral("mask"), maskModeName(workspace.settings.mask)},
            {QStringLiteral("masked_keys"), maskedKeys},
            {QStringLiteral("temperature"), workspace.settings.temperature},
            {QStringLiteral("scale"), workspace.settings.scale},
        }},
        {QStringLiteral("heads"), heads},
    };
}

QJsonObject sceneToJson(const Scene &scene)
{
    return QJsonObject{
        {QStringLiteral("name"), scene.name},
        {QStringLiteral("state"), workspaceBodyToJson(scene.state)},
        {QStringLiteral("model_folder"), scene.modelFolder},
        {QStringLiteral("text_pair"), scene.textPair},
        {QStringLiteral("view"), scene.view},
        {QStringLiteral("stage"), scene.stage},
        {QStringLiteral("layer"), scene.layer},
        {QStringLiteral("head"), scene.head},
        {QStringLiteral("query"), scene.query},
        {QStringLiteral("key"), scene.key},
        {QStringLiteral("hide_weights"), scene.hideWeights},
        {QStringLiteral("target"), targetPatternName(scene.target)},
        {QStringLiteral("attention"), scene.attentionKind},
    };
}

} // namespace

QJsonObject workspaceToJson(const Workspace &workspace)
{
    QJsonObject json = workspaceBodyToJson(workspace);
    json.insert(QStringLiteral("format"), kFormatName);
    json.insert(QStringLiteral("version"), kWorkspaceFormatVersion);
    QJsonArray scenes;
    for (const Scene &scene : workspace.scenes)
        scenes.append(sceneToJson(scene));
    json.insert(QStringLiteral("scenes"), scenes);
    return json;
}

namespace {

Result<Workspace> workspaceBodyFromJson(const QJsonObject &json, int version, const QString &prefix);
Result<std::vector<Scene>> scenesFromJson(const QJsonObject &json, int version);

} // namespace

Result<Workspace> workspaceFromJson(const QJsonObject &json)
{
    using R = Result<Workspace>;
    // Each field in turn; the first problem is the answer.
    const FieldReader top(json, {});
    const Result<QJsonValue> format = top.require(QStringLiteral("format"), QJsonValue::String);
    if (!format)
        return R::failure(format.error);
    if (format.value->toString() != kFormatName)
        return R::failure(QStringLiteral("not an Attention Studio workspace (format \"%1\")").arg(format.value->toString()));
    const Result<int> version = top.requireInt(QStringLiteral("version"));
    if (!version)
        return R::failure(version.error);
    if (*version.value > kWorkspaceFormatVersion)
        return R::failure(QStringLiteral("the workspace was written by a newer version (format %1; this version reads up to %2)")
                              .arg(*version.value).arg(kWorkspaceFormatVersion));
    if (*version.value < 1)
        return R::failure(QStringLiteral("unknown workspace format version %1").arg(*version.value));

    R workspace = workspaceBodyFromJson(json, *version.value, {});
    if (!workspace)
        return workspace;
    Result<std::vector<Scene>> scenes = scenesFromJson(json, *version.value);
    if (!scenes)
        return R::failure(scenes.error);
    workspace.value->scenes = std::move(*scenes.value);
    return workspace;
}

namespace {

Result<Workspace> workspaceBodyFromJson(const QJsonObject &json, int version, const QString &prefix)
{
    using R = Result<Workspace>;
    const FieldReader top(json, prefix);
    Workspace workspace;
    const Result<QJsonValue> text = top.require(QStringLiteral("text"), QJsonValue::String);
    if (!text)
        return R::failure(text.error);
    workspace.text = text.value->toString();

    const Result<QJsonValue> model = top.require(QStringLiteral("model"), QJsonValue::Object);
    if (!model)
        return R::failure(model.error);
    const FieldReader modelReader(model.value->toObject(), prefix + QStringLiteral("model."));
    for (const auto &[key, target] : {std::pair{QStringLiteral("d_model"), &workspace.config.dModel},
                                      std::pair{QStringLiteral("d_head"), &workspace.config.dHead},
                                      std::pair{QStringLiteral("heads"), &workspace.config.heads}}) {
        const Result<int> size = modelReader.requireInt(key);
        if (!size)
            return R::failure(size.error);
        *target = *size.value;
    }
    const Result<QJsonValue> positional = modelReader.require(QStringLiteral("positional"), QJsonValue::Bool);
    if (!positional)
        return R::failure(positional.error);
    workspace.config.positional = positional.value->toBool();
    if (const Status valid = validateConfig(workspace.config); !valid)
        return R::failure(valid.error);

    const Result<QJsonValue> settings = top.require(QStringLiteral("settings"), QJsonValue::Object);
    if (!settings)
        return R::failure(settings.error);
    const FieldReader settingsReader(settings.value->toObject(), prefix + QStringLiteral("settings."));
    const Result<QJsonValue> maskName = settingsReader.require(QStringLiteral("mask"), QJsonValue::String);
    if (!maskName)
        return R::failure(maskName.error);
    const std::optional<MaskMode> mask = maskModeFromName(maskName.value->toString());
    if (!mask)
        return R::failure(QStringLiteral("%1settings.mask must be none, causal or keys (got \"%2\")").arg(prefix, maskName.value->toString()));
    workspace.settings.mask = *mask;
    const Result<QJsonValue> maskedKeys = settingsReader.require(QStringLiteral("masked_keys"), QJsonValue::Array);
    if (!maskedKeys)
        return R::failure(maskedKeys.error);
    for (const QJsonValue &key : maskedKeys.value->toArray()) {
        const double d = key.toDouble(-1.0);
        if (!key.isDouble() || d < 0 || d != std::floor(d) || d > 1e9)
            return R::failure(QStringLiteral("%1settings.masked_keys must hold token positions (whole numbers ≥ 0)").arg(prefix));
        workspace.settings.maskedKeys.append(int(d));
    }
    // Format 1 kept hidden keys while another mask was chosen, without applying them: they stay
    // unapplied. Its "keys" mask is "none" with those keys hidden.
    if (version < 2 && workspace.settings.mask != MaskMode::Keys)
        workspace.settings.maskedKeys.clear();
    if (workspace.settings.mask == MaskMode::Keys)
        workspace.settings.mask = MaskMode::None;
    const Result<QJsonValue> temperature = settingsReader.require(QStringLiteral("temperature"), QJsonValue::Double);
    if (!temperature)
        return R::failure(temperature.error);
    workspace.settings.temperature = temperature.value->toDouble();
    if (!(workspace.settings.temperature > 0.0) || !std::isfinite(workspace.settings.temperature))
        return R::failure(QStringLiteral("%1settings.temperature must be a finite number > 0").arg(prefix));
    const Result<QJsonValue> scale = settingsReader.require(QStringLiteral("scale"), QJsonValue::Bool);
    if (!scale)
        return R::failure(scale.error);
    workspace.settings.scale = scale.value->toBool();

    const Result<QJsonValue> headsValue = top.require(QStringLiteral("heads"), QJsonValue::Array);
    if (!headsValue)
        return R::failure(headsValue.error);
    const QJsonArray heads = headsValue.value->toArray();
    if (heads.size() != workspace.config.heads)
        return R::failure(QStringLiteral("\"%1heads\" lists %2 heads but %1model.heads is %3")
                              .arg(prefix).arg(heads.size()).arg(workspace.config.heads));
    for (qsizetype h = 0; h < heads.size(); ++h) {
        const QString path = QStringLiteral("%1heads[%2].").arg(prefix).arg(h);
        if (!heads.at(h).isObject())
            return R::failure(QStringLiteral("%1heads[%2] must be an object").arg(prefix).arg(h));
        const QJsonObject headJson = heads.at(h).toObject();
        const Result<QJsonValue> name = FieldReader(headJson, path).require(QStringLiteral("name"), QJsonValue::String);
        if (!name)
            return R::failure(name.error);
        HeadWeights head;
        head.name = name.value->toString();
        head.description = headJson.value(QStringLiteral("description")).toString();
        for (Projection projection : kProjections) {
            const QString key = projectionMatrixName(projection).toLower(); // "w_q"
            Result<Matrix> weights = matrixFromJson(headJson.value(key), workspace.config.dModel, workspace.config.dHead, path + key);
            if (!weights)
                return R::failure(weights.error);
            head.weight(projection) = std::move(*weights.value);
        }
        // W_O (d_head × d_model) arrived later: a file without it gets the identity-like default.
        const QString outputKey = projectionMatrixName(Projection::O).toLower(); // "w_o"
        if (headJson.contains(outputKey)) {
            Result<Matrix> output = matrixFromJson(headJson.value(outputKey), workspace.config.dHead, workspace.config.dModel, path + outputKey);
            if (!output)
                return R::failure(output.error);
            head.wO = std::move(*output.value);
        } else {
            head.wO = defaultOutputProjection(workspace.config.dModel, workspace.config.dHead, int(h));
        }
        workspace.heads.push_back(std::move(head));
    }
    return {std::move(workspace), {}};
}

Result<std::vector<Scene>> scenesFromJson(const QJsonObject &json, int version)
{
    using R = Result<std::vector<Scene>>;
    std::vector<Scene> scenes;
    const QJsonValue value = json.value(QStringLiteral("scenes"));
    if (version < 3 || value.isUndefined())
        return {std::move(scenes), {}};
    if (!value.isArray())
        return R::failure(QStringLiteral("field \"scenes\" must be an array, not %1").arg(typeName(value.type())));
    const QJsonArray array = value.toArray();
    for (qsizetype i = 0; i < array.size(); ++i) {
        const QString path = QStringLiteral("scenes[%1].").arg(i);
        if (!array.at(i).isObject())
            return R::failure(QStringLiteral("scenes[%1] must be an object").arg(i));
        const QJsonObject object = array.at(i).toObject();
        const FieldReader reader(object, path);
        Scene scene;
        for (const auto &[key, target] : {std::pair{QStringLiteral("name"), &scene.name},
                                          std::pair{QStringLiteral("model_folder"), &scene.modelFolder},
                                          std::pair{QStringLiteral("text_pair"), &scene.textPair},
                                          std::pair{QStringLiteral("view"), &scene.view},
                                          std::pair{QStringLiteral("stage"), &scene.stage}}) {
            const Result<QJsonValue> text = reader.require(key, QJsonValue::String);
            if (!text)
                return R::failure(text.error);
            *target = text.value->toString();
        }
        for (const auto &[key, target, least] : {std::tuple{QStringLiteral("layer"), &scene.layer, 0},
                                                 std::tuple{QStringLiteral("head"), &scene.head, 0},
                                                 std::tuple{QStringLiteral("query"), &scene.query, -1},
                                                 std::tuple{QStringLiteral("key"), &scene.key, -1}}) {
            const Result<int> number = reader.requireInt(key);
            if (!number)
                return R::failure(number.error);
            if (*number.value < least)
                return R::failure(QStringLiteral("field \"%1%2\" must be at least %3").arg(path, key).arg(least));
            *target = *number.value;
        }
        const Result<QJsonValue> hide = reader.require(QStringLiteral("hide_weights"), QJsonValue::Bool);
        if (!hide)
            return R::failure(hide.error);
        scene.hideWeights = hide.value->toBool();
        // Optional: scenes saved before translation models had none.
        const QJsonValue kind = object.value(QStringLiteral("attention"));
        if (!kind.isUndefined() && !kind.isNull()) {
            if (!kind.isString() || (!kind.toString().isEmpty() && !attentionKindFromName(kind.toString())))
                return R::failure(QStringLiteral("field \"%1attention\" must be \"encoder\", \"decoder\" or \"cross\"").arg(path));
            scene.attentionKind = kind.toString();
        }
        const Result<QJsonValue> target = reader.require(QStringLiteral("target"), QJsonValue::String);
        if (!target)
            return R::failure(target.error);
        const std::optional<TargetPattern> pattern = targetPatternFromName(target.value->toString());
        if (!pattern)
            return R::failure(QStringLiteral("field \"%1target\" names no known pattern (\"%2\")").arg(path, target.value->toString()));
        scene.target = *pattern;
        const Result<QJsonValue> state = reader.require(QStringLiteral("state"), QJsonValue::Object);
        if (!state)
            return R::failure(state.error);
        Result<Workspace> body = workspaceBodyFromJson(state.value->toObject(), version, path + QStringLiteral("state."));
        if (!body)
            return R::failure(body.error);
        scene.state = std::move(*body.value);
        scenes.push_back(std::move(scene));
    }
    return {std::move(scenes), {}};
}

} // namespace

bool sameState(const Workspace &a, const Workspace &b)
{
    if (a.text != b.text || !(a.config == b.config) || !(a.settings == b.settings) || a.heads.size() != b.heads.size())
        return false;
    const auto sameBits = [](const Matrix &x, const Matrix &y) {
        return x.rows() == y.rows() && x.cols() == y.cols() && std::memcmp(x.data(), y.data(), sizeof(float) * size_t(x.size())) == 0;
    };
    for (size_t h = 0; h < a.heads.size(); ++h) {
        const HeadWeights &x = a.heads[h];
        const HeadWeights &y = b.heads[h];
        if (x.name != y.name || x.description != y.description)
            return false;
        for (Projection projection : kHeadMatrices)
            if (!sameBits(x.weight(projection), y.weight(projection)))
                return false;
    }
    return true;
}

bool operator==(const Scene &a, const Scene &b)
{
    return a.name == b.name && a.modelFolder == b.modelFolder && a.textPair == b.textPair && a.attentionKind == b.attentionKind
        && a.view == b.view && a.stage == b.stage
        && a.layer == b.layer && a.head == b.head && a.query == b.query && a.key == b.key && a.hideWeights == b.hideWeights
        && a.target == b.target && sameState(a.state, b.state);
}

QString nonFiniteWeight(const Workspace &workspace)
{
    for (size_t h = 0; h < workspace.heads.size(); ++h)
        for (Projection projection : kHeadMatrices) {
            const Matrix &m = workspace.heads[h].weight(projection);
            for (Eigen::Index r = 0; r < m.rows(); ++r)
                for (Eigen::Index c = 0; c < m.cols(); ++c)
                    if (!std::isfinite(m(r, c)))
                        return QStringLiteral("head %1 %2[%3][%4] is %5").arg(h).arg(projectionMatrixName(projection).toLower()).arg(r).arg(c)
                            .arg(std::isnan(m(r, c)) ? QStringLiteral("NaN") : QStringLiteral("infinite"));
        }
    for (const Scene &scene : workspace.scenes)
        if (const QString problem = nonFiniteWeight(scene.state); !problem.isEmpty())
            return QStringLiteral("scene “%1”: %2").arg(scene.name, problem);
    return {};
}

Status saveWorkspace(const Workspace &workspace, const QString &path)
{
    if (const QString problem = nonFiniteWeight(workspace); !problem.isEmpty())
        return Status::failure(QStringLiteral("cannot save %1: %2, and a workspace file holds only finite numbers; fix the weight first").arg(path, problem));
    return writeFileAtomically(path, QJsonDocument(workspaceToJson(workspace)).toJson(QJsonDocument::Indented));
}

Result<Workspace> loadWorkspace(const QString &path)
{
    using R = Result<Workspace>;
    if (QFileInfo(path).isDir())
        return R::failure(QStringLiteral("%1 is a folder, not a workspace file").arg(path));
    const Result<QByteArray> bytes = readRegularFile(path, kMaxWorkspaceBytes);
    if (!bytes)
        return R::failure(bytes.error);
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(*bytes.value, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return R::failure(QStringLiteral("%1 is not valid JSON: %2 at byte %3")
                              .arg(path, parseError.errorString()).arg(parseError.offset));
    if (!document.isObject())
        return R::failure(QStringLiteral("%1 does not hold a JSON object").arg(path));
    R result = workspaceFromJson(document.object());
    if (!result)
        result.error = QStringLiteral("%1: %2").arg(path, result.error);
    return result;
}

} // namespace studio
