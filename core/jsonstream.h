#pragma once

#include <QByteArray>
#include <QJsonValue>
#include <QString>

#include <functional>
#include <vector>

namespace studio {

// Writes a JSON document as it is produced, so that a document larger than memory never exists
// whole: the text goes to a sink in chunks of about a megabyte. Numbers are written as
// QJsonDocument writes them (the shortest text that reads back as the same double), strings with
// the same escapes, so a streamed document parses to the same values as one built in memory.
// The caller nests begin/end calls correctly; keys are written only inside objects.
class JsonStream {
public:
    // Receives each chunk; returns false when it could not take it (a full disk), after which
    // nothing more is written and ok() is false.
    using Sink = std::function<bool(const QByteArray &chunk)>;

    explicit JsonStream(Sink sink, qsizetype chunkBytes = 1 << 20);

    void beginObject();
    void endObject();
    void beginArray();
    void endArray();
    void key(const QString &name);

    void number(double value); // NaN and ±∞ have no JSON spelling: null, as QJsonDocument writes them
    void integer(qint64 value);
    void boolean(bool value);
    void string(const QString &text);
    void null();
    // A small value built whole (a settings object, a token list).
    void value(const QJsonValue &value);

    // Writes what is buffered; false if the sink refused any chunk.
    bool finish();
    bool ok() const { return m_ok; }

private:
    void separate(); // the comma before every element but the first of its array or object
    void raw(const char *text, qsizetype length);
    void raw(const QByteArray &text) { raw(text.constData(), text.size()); }
    void flush();

    Sink m_sink;
    qsizetype m_chunkBytes;
    QByteArray m_buffer;
    std::vector<bool> m_first; // per open array or object: no element written yet
    bool m_afterKey = false;   // a key was written: its value needs no comma
    bool m_ok = true;
};

} // namespace studio
