#include "hubcache.h"

#include "regularfile.h"
#include "runmemory.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSet>

#include <cmath>

namespace studio {

namespace {

constexpr qint64 kMaxSmallFile = 1 << 20; // a ref or a token file is a line

bool isTrue(const QString &value)
{
    const QString upper = value.trimmed().toUpper();
    return upper == QStringLiteral("1") || upper == QStringLiteral("ON") || upper == QStringLiteral("YES") || upper == QStringLiteral("TRUE");
}

QString expandHome(const QString &path)
{
    if (path == QStringLiteral("~") || path.startsWith(QStringLiteral("~/")))
        return QDir::homePath() + path.mid(1);
    return path;
}

QString environmentPath(const char *name)
{
    return expandHome(qEnvironmentVariable(name));
}

QString readFirstLine(const QString &path)
{
    const Result<QByteArray> bytes = readRegularFile(path, kMaxSmallFile);
    if (!bytes)
        return {};
    return QString::fromUtf8(*bytes.value).section(QLatin1Char('\n'), 0, 0).trimmed();
}

// The files the app reads besides the weights. tokenizer.model, spiece.model (T5) and the .spm files
// (Marian) are kept for SentencePiece models; the rest of a repository (README, ONNX, other frameworks' weights) is not
// fetched.
bool isModelSideFile(const QString &name)
{
    static const QSet<QString> names = {
        QStringLiteral("config.json"),          QStringLiteral("generation_config.json"),
        QStringLiteral("tokenizer.json"),       QStringLiteral("tokenizer_config.json"),
        QStringLiteral("special_tokens_map.json"), QStringLiteral("added_tokens.json"),
        QStringLiteral("vocab.json"),           QStringLiteral("merges.txt"),
        QStringLiteral("vocab.txt"),            QStringLiteral("tokenizer.model"),
        QStringLiteral("source.spm"),           QStringLiteral("target.spm"),
        QStringLiteral("target_vocab.json"),    QStringLiteral("spiece.model"),
    };
    return names.contains(name);
}

bool isPlainFileName(const QString &name)
{
    return !name.isEmpty() && !name.contains(QLatin1Char('/')) && !name.contains(QLatin1Char('\\')) && name != QStringLiteral(".")
        && name != QStringLiteral("..") && !name.contains(QChar(0));
}

} // namespace

HubSettings HubSettings::fromEnvironment()
{
    HubSettings settings;
    settings.endpoint = qEnvironmentVariable("HF_ENDPOINT").trimmed();
    if (settings.endpoint.isEmpty())
        settings.endpoint = QStringLiteral("https://huggingface.co");
    while (settings.endpoint.endsWith(QLatin1Char('/')))
        settings.endpoint.chop(1);

    QString cacheHome = environmentPath("XDG_CACHE_HOME");
    if (cacheHome.isEmpty())
        cacheHome = QDir::home().filePath(QStringLiteral(".cache"));
    QString hfHome = environmentPath("HF_HOME");
    if (hfHome.isEmpty())
        hfHome = QDir(cacheHome).filePath(QStringLiteral("huggingface"));
    settings.cache = environmentPath("HF_HUB_CACHE");
    if (settings.cache.isEmpty())
        settings.cache = environmentPath("HUGGINGFACE_HUB_CACHE"); // the older name, still honoured
    if (settings.cache.isEmpty())
        settings.cache = QDir(hfHome).filePath(QStringLiteral("hub"));

    settings.offline = isTrue(qEnvironmentVariable("HF_HUB_OFFLINE"));

    settings.token = qEnvironmentVariable("HF_TOKEN").trimmed();
    if (settings.token.isEmpty()) {
        QString tokenFile = environmentPath("HF_TOKEN_PATH");
        if (tokenFile.isEmpty())
            tokenFile = QDir(hfHome).filePath(QStringLiteral("token"));
        settings.token = readFirstLine(tokenFile);
    }
    return settings;
}

Status checkRepoId(const QString &repoId)
{
    static const QRegularExpression part(QStringLiteral("^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,95}$"));
    const QStringList parts = repoId.split(QLatin1Char('/'));
    bool valid = parts.size() <= 2;
    for (const QString &p : parts)
        valid = valid && part.match(p).hasMatch() && !p.contains(QStringLiteral("--")) && !p.contains(QStringLiteral(".."))
             && !p.endsWith(QLatin1Char('.')) && !p.endsWith(QStringLiteral(".git"));
    if (!valid)
        return Status::failure(QStringLiteral("\"%1\" is not a model id: expected a name such as gpt2 or org/name "
                                              "(letters, digits, '-', '_' and '.')").arg(repoId));
    return Status::success();
}

Status checkRevision(const QString &revision)
{
    bool valid = !revision.isEmpty() && revision.size() <= 256 && !revision.contains(QStringLiteral(".."))
              && !revision.startsWith(QLatin1Char('/')) && !revision.endsWith(QLatin1Char('/'));
    for (const QChar c : revision)
        valid = valid && c.unicode() > 0x20 && c.unicode() != 0x7f && c != QLatin1Char('\\') && c != QLatin1Char('?')
             && c != QLatin1Char('#') && c != QLatin1Char('%');
    if (!valid)
        return Status::failure(QStringLiteral("\"%1\" is not a revision: expected a branch, a tag or a commit").arg(revision));
    return Status::success();
}

bool isCommitHash(const QString &revision)
{
    static const QRegularExpression hash(QStringLiteral("^[0-9a-f]{40}$"));
    return hash.match(revision).hasMatch();
}

QString repoFolderName(const QString &repoId)
{
    return QStringLiteral("models--") + QString(repoId).replace(QLatin1Char('/'), QStringLiteral("--"));
}

QString repoFolder(const QString &cache, const QString &repoId)
{
    return QDir(cache).filePath(repoFolderName(repoId));
}

QString blobPath(const QString &cache, const QString &repoId, const QString &blobName)
{
    return repoFolder(cache, repoId) + QStringLiteral("/blobs/") + blobName;
}

QString snapshotFolder(const QString &cache, const QString &repoId, const QString &commit)
{
    return repoFolder(cache, repoId) + QStringLiteral("/snapshots/") + commit;
}

QString refPath(const QString &cache, const QString &repoId, const QString &revision)
{
    return repoFolder(cache, repoId) + QStringLiteral("/refs/") + revision;
}

Result<HubListing> parseHubListing(const QByteArray &json)
{
    using R = Result<HubListing>;
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(json, &parseError);
    if (!document.isObject())
        return R::failure(QStringLiteral("the Hub's file list is not a JSON object (%1)").arg(parseError.errorString()));
    const QJsonObject root = document.object();
    HubListing listing;
    listing.commit = root.value(QStringLiteral("sha")).toString();
    if (!isCommitHash(listing.commit))
        return R::failure(QStringLiteral("the Hub's file list names no commit (\"sha\")"));
    const QJsonValue siblings = root.value(QStringLiteral("siblings"));
    if (!siblings.isArray())
        return R::failure(QStringLiteral("the Hub's file list has no \"siblings\""));
    static const QRegularExpression hex64(QStringLiteral("^[0-9a-f]{64}$"));
    static const QRegularExpression gitOid(QStringLiteral("^[0-9a-f]{40}([0-9a-f]{24})?$"));
    for (const QJsonValue &value : siblings.toArray()) {
        const QJsonObject entry = value.toObject();
        HubFile file;
        file.name = entry.value(QStringLiteral("rfilename")).toString();
        if (file.name.isEmpty())
            return R::failure(QStringLiteral("the Hub's file list has an entry without \"rfilename\""));
        file.size = entry.value(QStringLiteral("size")).toInteger(-1);
        file.blobId = entry.value(QStringLiteral("blobId")).toString().toLower();
        const QJsonObject lfs = entry.value(QStringLiteral("lfs")).toObject();
        if (!lfs.isEmpty()) {
            file.sha256 = lfs.value(QStringLiteral("sha256")).toString().toLower();
            file.size = lfs.value(QStringLiteral("size")).toInteger(file.size);
            if (!hex64.match(file.sha256).hasMatch())
                return R::failure(QStringLiteral("the Hub states no valid SHA-256 for %1").arg(file.name));
        }
        if (!file.isLfs() && !file.blobId.isEmpty() && !gitOid.match(file.blobId).hasMatch())
            return R::failure(QStringLiteral("the Hub's file list has an invalid blob id for %1").arg(file.name));
        listing.files.append(file);
    }
    return {std::move(listing), {}};
}

Result<QList<HubFile>> selectModelFiles(const HubListing &listing)
{
    using R = Result<QList<HubFile>>;
    QList<HubFile> selected;
    const HubFile *single = nullptr;
    const HubFile *index = nullptr;
    bool config = false;
    bool pickle = false;
    for (const HubFile &file : listing.files) {
        if (file.name == QStringLiteral("config.json"))
            config = true;
        if (file.name == QStringLiteral("model.safetensors"))
            single = &file;
        if (file.name == QStringLiteral("model.safetensors.index.json"))
            index = &file;
        if (file.name.endsWith(QStringLiteral(".bin")) || file.name.endsWith(QStringLiteral(".pt")) || file.name.endsWith(QStringLiteral(".pth"))
            || file.name.endsWith(QStringLiteral(".ckpt")))
            pickle = true;
        if (isModelSideFile(file.name))
            selected.append(file);
    }
    if (!config)
        return R::failure(QStringLiteral("the repository has no config.json: it is not a Transformers model"));
    if (single) {
        selected.append(*single);
    } else if (index) {
        selected.append(*index);
    } else if (pickle) {
        return R::failure(QStringLiteral("the repository has only PyTorch pickle weights (pytorch_model.bin), no safetensors: "
                                         "Attention Studio does not load pickles, because loading one can run any code it contains"));
    } else {
        return R::failure(QStringLiteral("the repository has no safetensors weights (model.safetensors)"));
    }
    for (const HubFile &file : selected)
        if (file.name.endsWith(QStringLiteral(".safetensors")) && !file.isLfs())
            return R::failure(QStringLiteral("the Hub states no SHA-256 for %1, so it cannot be verified").arg(file.name));
    return {std::move(selected), {}};
}

Result<QStringList> shardsOfIndex(const QByteArray &indexJson)
{
    using R = Result<QStringList>;
    const QJsonObject weightMap = QJsonDocument::fromJson(indexJson).object().value(QStringLiteral("weight_map")).toObject();
    if (weightMap.isEmpty())
        return R::failure(QStringLiteral("model.safetensors.index.json has no weight_map"));
    QStringList shards;
    for (auto it = weightMap.begin(); it != weightMap.end(); ++it) {
        const QString shard = it.value().toString();
        if (!isPlainFileName(shard) || !shard.endsWith(QStringLiteral(".safetensors")))
            return R::failure(QStringLiteral("model.safetensors.index.json: \"%1\" maps to an invalid file name").arg(it.key()));
        if (!shards.contains(shard))
            shards.append(shard);
    }
    return {std::move(shards), {}};
}

QString cachedSnapshot(const QString &cache, const QString &repoId, const QString &revision)
{
    QString commit = revision;
    if (!isCommitHash(revision)) {
        commit = readFirstLine(refPath(cache, repoId, revision));
        if (!isCommitHash(commit))
            return {};
    }
    const QString folder = snapshotFolder(cache, repoId, commit);
    return QFileInfo::exists(folder + QStringLiteral("/config.json")) ? folder : QString();
}

QString transferText(qint64 done, qint64 total, qint64 movedThisSession, qint64 elapsedMs)
{
    QString text = total > 0 ? QStringLiteral("%1 of %2").arg(memoryText(double(done)), memoryText(double(total)))
                             : memoryText(double(done));
    if (elapsedMs < 500 || movedThisSession <= 0)
        return text;
    const double rate = double(movedThisSession) * 1000.0 / double(elapsedMs); // bytes per second
    text += QStringLiteral(" · %1/s").arg(memoryText(rate));
    if (total > done) {
        const double seconds = std::ceil(double(total - done) / rate);
        QString left;
        if (seconds < 60)
            left = QStringLiteral("%1 s").arg(qint64(seconds));
        else if (seconds < 3600)
            left = QStringLiteral("%1 min").arg(qint64(std::ceil(seconds / 60)));
        else
            left = QStringLiteral("%1 h %2 min").arg(qint64(seconds / 3600)).arg(qint64(std::fmod(seconds, 3600) / 60));
        text += QStringLiteral(" · %1 left").arg(left);
    }
    return text;
}

} // namespace studio
