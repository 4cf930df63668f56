#include "jsonstream.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <charconv>
#include <cmath>

namespace studio {

JsonStream::JsonStream(Sink sink, qsizetype chunkBytes) : m_sink(std::move(sink)), m_chunkBytes(chunkBytes)
{
    m_buffer.reserve(m_chunkBytes + 64);
}

void JsonStream::raw(const char *text, qsizetype length)
{
    m_buffer.append(text, length);
    if (m_buffer.size() >= m_chunkBytes)
        flush();
}

void JsonStream::flush()
{
    if (m_ok && !m_buffer.isEmpty())
        m_ok = m_sink(m_buffer);
    m_buffer.clear(); // keeps its capacity: one chunk's memory for the whole document
}

void JsonStream::separate()
{
    if (m_afterKey) {
        m_afterKey = false;
        return;
    }
    if (m_first.empty())
        return;
    if (m_first.back())
        m_first.back() = false;
    else
        raw(",", 1);
}

void JsonStream::beginObject()
{
    separate();
    raw("{", 1);
    m_first.push_back(true);
}

void JsonStream::endObject()
{
    m_first.pop_back();
    raw("}", 1);
}

void JsonStream::beginArray()
{
    separate();
    raw("[", 1);
    m_first.push_back(true);
}

void JsonStream::endArray()
{
    m_first.pop_back();
    raw("]", 1);
}

void JsonStream::key(const QString &name)
{
    string(name);
    raw(":", 1);
    m_afterKey = true;
}

void JsonStream::number(double value)
{
    separate();
    if (!std::isfinite(value)) {
        raw("null", 4);
        return;
    }
    // std::to_chars without a format is the shortest text that reads back as the same double.
    char text[32];
    const auto written = std::to_chars(text, text + sizeof text, value);
    raw(text, written.ptr - text);
}

void JsonStream::integer(qint64 value)
{
    separate();
    char text[24];
    const auto written = std::to_chars(text, text + sizeof text, value);
    raw(text, written.ptr - text);
}

void JsonStream::boolean(bool value)
{
    separate();
    value ? raw("true", 4) : raw("false", 5);
}

void JsonStream::null()
{
    separate();
    raw("null", 4);
}

void JsonStream::string(const QString &text)
{
    // QJsonDocument escapes a one-element array exactly as JSON requires; its brackets are cut off.
    const QByteArray json = QJsonDocument(QJsonArray{text}).toJson(QJsonDocument::Compact);
    separate();
    raw(json.constData() + 1, json.size() - 2);
}

void JsonStream::value(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Object:
        separate();
        raw(QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact));
        return;
    case QJsonValue::Array:
        separate();
        raw(QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact));
        return;
    case QJsonValue::String:
        string(value.toString());
        return;
    case QJsonValue::Double:
        number(value.toDouble());
        return;
    case QJsonValue::Bool:
        boolean(value.toBool());
        return;
    case QJsonValue::Null:
    case QJsonValue::Undefined:
        null();
        return;
    }
}

bool JsonStream::finish()
{
    flush();
    return m_ok;
}

} // namespace studio
