#include "workspace.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>

#include <cmath>

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

// Reads json[key] as the expected type or sets *error to a sentence naming the path.
class FieldReader {
public:
    FieldReader(const QJsonObject &object, QString path) : m_object(object), m_path(std::move(path)) {}

    const QJsonValue require(const QString &key, QJsonValue::Type type, QString *error) const
    {
        const QJsonValue value = m_object.value(key);
        if (value.type() != type) {
            *error = value.isUndefined()
                ? QStringLiteral("missing field \"%1\"").arg(m_path + key)
                : QStringLiteral("field \"%1\" must be %2, not %3")
                      .arg(m_path + key, typeName(type), typeName(value.type()));
        }
        return value;
    }

    bool requireInt(const QString &key, int *out, QString *error) const
    {
        const QJsonValue value = require(key, QJsonValue::Double, error);
        if (!error->isEmpty())
            return false;
        const double d = value.toDouble();
        if (d != std::floor(d) || std::abs(d) > 1e9) {
            *error = QStringLiteral("field \"%1\" must be a whole number").arg(m_path + key);
            return false;
        }
        *out = int(d);
        return true;
    }

private:
    QJsonObject m_object;
    QString m_path;
};

bool matrixFromJson(const QJsonValue &value, int rows, int cols, const QString &path, Matrix *out,
                    QString *error)
{
    if (!value.isArray()) {
        *error = QStringLiteral("\"%1\" must be an array of %2 rows").arg(path).arg(rows);
        return false;
    }
    const QJsonArray rowArray = value.toArray();
    if (rowArray.size() != rows) {
        *error = QStringLiteral("\"%1\" has %2 rows, expected %3 (d_model)").arg(path).arg(rowArray.size()).arg(rows);
        return false;
    }
    out->resize(rows, cols);
    for (int r = 0; r < rows; ++r) {
        const QJsonValue rowValue = rowArray.at(r);
        const QJsonArray row = rowValue.toArray();
        if (!rowValue.isArray() || row.size() != cols) {
            *error = QStringLiteral("\"%1\" row %2 must have %3 numbers (d_head)").arg(path).arg(r).arg(cols);
            return false;
        }
        for (int c = 0; c < cols; ++c) {
            const QJsonValue cell = row.at(c);
            // QJsonDocument reads NaN and ±Inf as null, and a number out of double range as ±Inf.
            if (!cell.isDouble() || !std::isfinite(cell.toDouble())
                || std::abs(cell.toDouble()) > double(std::numeric_limits<float>::max())) {
                *error = QStringLiteral("\"%1\" [%2][%3] is not a finite number").arg(path).arg(r).arg(c);
                return false;
            }
            (*out)(r, c) = float(cell.toDouble());
        }
    }
    return true;
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

QJsonObject workspaceToJson(const Workspace &workspace)
{
    QJsonArray maskedKeys;
    for (int key : workspace.settings.maskedKeys)
        maskedKeys.append(key);
    QJsonArray heads;
    for (const HeadWeights &head : workspace.heads) {
        heads.append(QJsonObject{
            {QStringLiteral("name"), head.name},
            {QStringLiteral("description"), head.description},
            {QStringLiteral("w_q"), matrixToJson(head.wQ)},
            {QStringLiteral("w_k"), matrixToJson(head.wK)},
            {QStringLiteral("w_v"), matrixToJson(head.wV)},
        });
    }
    return QJsonObject{
        {QStringLiteral("format"), kFormatName},
        {QStringLiteral("version"), kWorkspaceFormatVersion},
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

Result<Workspace> workspaceFromJson(const QJsonObject &json)
{
    using R = Result<Workspace>;
    QString error;
    const FieldReader top(json, {});
    const QJsonValue format = top.require(QStringLiteral("format"), QJsonValue::String, &error);
    if (!error.isEmpty())
        return R::failure(error);
    if (format.toString() != kFormatName)
        return R::failure(QStringLiteral("not an Attention Studio workspace (format \"%1\")").arg(format.toString()));
    int version = 0;
    if (!top.requireInt(QStringLiteral("version"), &version, &error))
        return R::failure(error);
    if (version > kWorkspaceFormatVersion)
        return R::failure(QStringLiteral("the workspace was written by a newer version (format %1; this version reads up to %2)")
                              .arg(version).arg(kWorkspaceFormatVersion));
    if (version < 1)
        return R::failure(QStringLiteral("unknown workspace format version %1").arg(version));

    Workspace workspace;
    workspace.text = top.require(QStringLiteral("text"), QJsonValue::String, &error).toString();
    if (!error.isEmpty())
        return R::failure(error);

    const QJsonObject model = top.require(QStringLiteral("model"), QJsonValue::Object, &error).toObject();
    if (!error.isEmpty())
        return R::failure(error);
    const FieldReader modelReader(model, QStringLiteral("model."));
    if (!modelReader.requireInt(QStringLiteral("d_model"), &workspace.config.dModel, &error)
        || !modelReader.requireInt(QStringLiteral("d_head"), &workspace.config.dHead, &error)
        || !modelReader.requireInt(QStringLiteral("heads"), &workspace.config.heads, &error))
        return R::failure(error);
    workspace.config.positional = modelReader.require(QStringLiteral("positional"), QJsonValue::Bool, &error).toBool();
    if (!error.isEmpty())
        return R::failure(error);
    if (const Status valid = validateConfig(workspace.config); !valid)
        return R::failure(valid.error);

    const QJsonObject settings = top.require(QStringLiteral("settings"), QJsonValue::Object, &error).toObject();
    if (!error.isEmpty())
        return R::failure(error);
    const FieldReader settingsReader(settings, QStringLiteral("settings."));
    const QString maskName = settingsReader.require(QStringLiteral("mask"), QJsonValue::String, &error).toString();
    if (!error.isEmpty())
        return R::failure(error);
    const std::optional<MaskMode> mask = maskModeFromName(maskName);
    if (!mask)
        return R::failure(QStringLiteral("settings.mask must be none, causal or keys (got \"%1\")").arg(maskName));
    workspace.settings.mask = *mask;
    const QJsonArray maskedKeys = settingsReader.require(QStringLiteral("masked_keys"), QJsonValue::Array, &error).toArray();
    if (!error.isEmpty())
        return R::failure(error);
    for (const QJsonValue &key : maskedKeys) {
        const double d = key.toDouble(-1.0);
        if (!key.isDouble() || d < 0 || d != std::floor(d) || d > 1e9)
            return R::failure(QStringLiteral("settings.masked_keys must hold token positions (whole numbers ≥ 0)"));
        workspace.settings.maskedKeys.append(int(d));
    }
    workspace.settings.temperature = settingsReader.require(QStringLiteral("temperature"), QJsonValue::Double, &error).toDouble();
    if (!error.isEmpty())
        return R::failure(error);
    if (!(workspace.settings.temperature > 0.0) || !std::isfinite(workspace.settings.temperature))
        return R::failure(QStringLiteral("settings.temperature must be a finite number > 0"));
    workspace.settings.scale = settingsReader.require(QStringLiteral("scale"), QJsonValue::Bool, &error).toBool();
    if (!error.isEmpty())
        return R::failure(error);

    const QJsonArray heads = top.require(QStringLiteral("heads"), QJsonValue::Array, &error).toArray();
    if (!error.isEmpty())
        return R::failure(error);
    if (heads.size() != workspace.config.heads)
        return R::failure(QStringLiteral("\"heads\" lists %1 heads but model.heads is %2")
                              .arg(heads.size()).arg(workspace.config.heads));
    for (qsizetype h = 0; h < heads.size(); ++h) {
        const QString path = QStringLiteral("heads[%1].").arg(h);
        if (!heads.at(h).isObject())
            return R::failure(QStringLiteral("heads[%1] must be an object").arg(h));
        const QJsonObject headJson = heads.at(h).toObject();
        const FieldReader headReader(headJson, path);
        HeadWeights head;
        head.name = headReader.require(QStringLiteral("name"), QJsonValue::String, &error).toString();
        if (!error.isEmpty())
            return R::failure(error);
        head.description = headJson.value(QStringLiteral("description")).toString();
        const int rows = workspace.config.dModel;
        const int cols = workspace.config.dHead;
        if (!matrixFromJson(headJson.value(QStringLiteral("w_q")), rows, cols, path + QStringLiteral("w_q"), &head.wQ, &error)
            || !matrixFromJson(headJson.value(QStringLiteral("w_k")), rows, cols, path + QStringLiteral("w_k"), &head.wK, &error)
            || !matrixFromJson(headJson.value(QStringLiteral("w_v")), rows, cols, path + QStringLiteral("w_v"), &head.wV, &error))
            return R::failure(error);
        workspace.heads.push_back(std::move(head));
    }
    return {std::move(workspace), {}};
}

QString nonFiniteWeight(const Workspace &workspace)
{
    static const char *names[] = {"w_q", "w_k", "w_v"};
    for (size_t h = 0; h < workspace.heads.size(); ++h) {
        const HeadWeights &head = workspace.heads[h];
        const Matrix *matrices[] = {&head.wQ, &head.wK, &head.wV};
        for (int m = 0; m < 3; ++m)
            for (Eigen::Index r = 0; r < matrices[m]->rows(); ++r)
                for (Eigen::Index c = 0; c < matrices[m]->cols(); ++c)
                    if (!std::isfinite((*matrices[m])(r, c)))
                        return QStringLiteral("head %1 %2[%3][%4] is %5").arg(h).arg(QLatin1String(names[m])).arg(r).arg(c)
                            .arg(std::isnan((*matrices[m])(r, c)) ? QStringLiteral("NaN") : QStringLiteral("infinite"));
    }
    return {};
}

Status saveWorkspace(const Workspace &workspace, const QString &path)
{
    if (const QString problem = nonFiniteWeight(workspace); !problem.isEmpty())
        return Status::failure(QStringLiteral("cannot save %1: %2, and a workspace file holds only finite numbers; fix the weight first").arg(path, problem));
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return Status::failure(QStringLiteral("cannot write %1: %2").arg(path, file.errorString()));
    const QByteArray bytes = QJsonDocument(workspaceToJson(workspace)).toJson(QJsonDocument::Indented);
    // A short write (a full disk, a file size limit) reports no error by itself: compare sizes,
    // and leave the previous file in place.
    if (file.write(bytes) != bytes.size()) {
        file.cancelWriting();
        return Status::failure(QStringLiteral("cannot write %1: only part of it could be written (is the disk full?)").arg(path));
    }
    if (!file.commit())
        return Status::failure(QStringLiteral("cannot write %1: %2").arg(path, file.errorString()));
    return Status::success();
}

Result<Workspace> loadWorkspace(const QString &path)
{
    using R = Result<Workspace>;
    if (QFileInfo(path).isDir())
        return R::failure(QStringLiteral("%1 is a folder, not a workspace file").arg(path));
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return R::failure(QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    constexpr qint64 kMaxWorkspaceBytes = 256LL * 1024 * 1024;
    if (file.size() > kMaxWorkspaceBytes)
        return R::failure(QStringLiteral("%1 is too large for a workspace file").arg(path));
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(file.readAll(), &parseError);
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
