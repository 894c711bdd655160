#include "attn/viz/canvas.h"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <set>
#include <sstream>

#include "attn/core/error.h"
#include "attn/io/atomic_file.h"
#include "attn/viz/svg_plot.h"

namespace attn::viz::detail {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr const char* kFont = "sans-serif";

// ---- UTF-8 ---------------------------------------------------------------------------------------------

// Decodes the code point starting at s[i] into `cp` and returns its length in bytes. A malformed
// sequence (bad lead byte, missing continuation, overlong form, surrogate, beyond U+10FFFF) decodes as
// U+FFFD and consumes one byte, so decoding always moves on.
size_t decode_utf8(const std::string& s, size_t i, uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  size_t len;
  uint32_t min;
  if ((b0 & 0xE0) == 0xC0) len = 2, min = 0x80, cp = b0 & 0x1F;
  else if ((b0 & 0xF0) == 0xE0) len = 3, min = 0x800, cp = b0 & 0x0F;
  else if ((b0 & 0xF8) == 0xF0) len = 4, min = 0x10000, cp = b0 & 0x07;
  else {
    cp = 0xFFFD;
    return 1;
  }
  if (i + len > s.size()) {
    cp = 0xFFFD;
    return 1;
  }
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      cp = 0xFFFD;
      return 1;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    cp = 0xFFFD;
    return 1;
  }
  return len;
}

void append_utf8(std::string& o, uint32_t cp) {
  if (cp < 0x80) {
    o += static_cast<char>(cp);
  } else if (cp < 0x800) {
    o += static_cast<char>(0xC0 | (cp >> 6));
    o += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    o += static_cast<char>(0xE0 | (cp >> 12));
    o += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    o += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    o += static_cast<char>(0xF0 | (cp >> 18));
    o += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    o += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    o += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_control(uint32_t cp) { return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F); }

// Any string made safe to draw and to put in XML: valid UTF-8, no control characters (which XML 1.0
// forbids and cairo cannot show), no U+FFFE/U+FFFF. Text on a figure is one line, so \n and \t are spaces.
std::string sanitize(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    i += decode_utf8(s, i, cp);
    if (cp == '\n' || cp == '\t' || cp == '\r') cp = ' ';
    else if (is_control(cp) || cp == 0xFFFE || cp == 0xFFFF) cp = 0xFFFD;
    append_utf8(o, cp);
  }
  return o;
}

std::string num(double v) {  // SVG coordinates: at most two decimals, no trailing zeros, no "-0"
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s == "-0" ? "0" : s;
}

// ---- text measurement -----------------------------------------------------------------------------------

// One tiny cairo context per thread, used only to ask how wide text is.
struct Measurer {
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
  cairo_t* cr = cairo_create(surface);
  ~Measurer() {
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
  }
};

void set_font(cairo_t* cr, double size, bool bold) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double advance(cairo_t* cr, const std::string& safe) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, safe.c_str(), &e);
  return e.x_advance;
}

// ---- SVG back end -----------------------------------------------------------------------------------------

class SvgCanvas final : public Canvas {
 public:
  explicit SvgCanvas(std::ostringstream& o) : o_(o) {}

  void rect(double x, double y, double w, double h, Rgb fill, const std::string& tooltip) override {
    o_ << "<rect x=\"" << num(x) << "\" y=\"" << num(y) << "\" width=\"" << num(w) << "\" height=\"" << num(h)
       << "\" fill=\"" << fill.hex() << "\"";
    if (tooltip.empty()) {
      o_ << "/>\n";
    } else {
      o_ << "><title>" << xml_escape(sanitize(tooltip)) << "</title></rect>\n";
    }
  }
  void frame(double x, double y, double w, double h, Rgb stroke, double width, const char* cls) override {
    o_ << "<rect";
    if (cls) o_ << " class=\"" << cls << "\"";
    o_ << " x=\"" << num(x) << "\" y=\"" << num(y) << "\" width=\"" << num(w) << "\" height=\"" << num(h)
       << "\" fill=\"none\" stroke=\"" << stroke.hex() << "\" stroke-width=\"" << num(width) << "\"/>\n";
  }
  void line(double x1, double y1, double x2, double y2, Rgb stroke, double width) override {
    o_ << "<line x1=\"" << num(x1) << "\" y1=\"" << num(y1) << "\" x2=\"" << num(x2) << "\" y2=\"" << num(y2)
       << "\" stroke=\"" << stroke.hex() << "\" stroke-width=\"" << num(width) << "\"/>\n";
  }
  void dot(double cx, double cy, double r, Rgb fill, Rgb stroke, double width, const char* cls) override {
    o_ << "<circle";
    if (cls) o_ << " class=\"" << cls << "\"";
    o_ << " cx=\"" << num(cx) << "\" cy=\"" << num(cy) << "\" r=\"" << num(r) << "\" fill=\"" << fill.hex()
       << "\" stroke=\"" << stroke.hex() << "\" stroke-width=\"" << num(width) << "\"/>\n";
  }
  void text(double x, double y, const std::string& s, const TextStyle& st) override {
    o_ << "<text x=\"" << num(x) << "\" y=\"" << num(y) << "\" font-size=\"" << num(st.size) << "\"";
    if (st.bold) o_ << " font-weight=\"bold\"";
    if (st.anchor != Anchor::Start) o_ << " text-anchor=\"" << (st.anchor == Anchor::Middle ? "middle" : "end") << "\"";
    if (!(st.color == Rgb{0, 0, 0})) o_ << " fill=\"" << st.color.hex() << "\"";
    if (st.rotate != 0) o_ << " transform=\"rotate(" << num(st.rotate) << " " << num(x) << " " << num(y) << ")\"";
    // xml:space keeps runs of spaces, as cairo draws them.
    o_ << " xml:space=\"preserve\">" << xml_escape(sanitize(s)) << "</text>\n";
  }
  void colorbar(double x, double y, double w, double h, Colormap cmap) override {
    const std::string id = std::string("attn-cmap-") + colormap_name(cmap);
    if (defined_.insert(id).second) {  // one gradient per colormap per document
      const auto& stops = colormap_stops(cmap);
      o_ << "<defs><linearGradient id=\"" << id << "\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">\n";
      for (size_t i = 0; i < stops.size(); ++i)
        o_ << "<stop offset=\"" << num(static_cast<double>(i) / static_cast<double>(stops.size() - 1))
           << "\" stop-color=\"" << stops[i].hex() << "\"/>\n";
      o_ << "</linearGradient></defs>\n";
    }
    o_ << "<rect class=\"colorbar\" x=\"" << num(x) << "\" y=\"" << num(y) << "\" width=\"" << num(w) << "\" height=\""
       << num(h) << "\" fill=\"url(#" << id << ")\"/>\n";
  }
  void begin_group(const char* cls, bool crisp) override {
    o_ << "<g class=\"" << cls << "\"" << (crisp ? " shape-rendering=\"crispEdges\"" : "") << ">\n";
  }
  void end_group() override { o_ << "</g>\n"; }

 private:
  std::ostringstream& o_;
  std::set<std::string> defined_;
};

// ---- cairo back end -------------------------------------------------------------------------------------

class CairoCanvas final : public Canvas {
 public:
  explicit CairoCanvas(cairo_t* cr) : cr_(cr) {}

  void rect(double x, double y, double w, double h, Rgb fill, const std::string&) override {
    color(fill);
    cairo_rectangle(cr_, x, y, w, h);
    cairo_fill(cr_);
  }
  void frame(double x, double y, double w, double h, Rgb stroke, double width, const char*) override {
    color(stroke);
    cairo_set_line_width(cr_, width);
    cairo_rectangle(cr_, x, y, w, h);
    cairo_stroke(cr_);
  }
  void line(double x1, double y1, double x2, double y2, Rgb stroke, double width) override {
    color(stroke);
    cairo_set_line_width(cr_, width);
    cairo_move_to(cr_, x1, y1);
    cairo_line_to(cr_, x2, y2);
    cairo_stroke(cr_);
  }
  void dot(double cx, double cy, double r, Rgb fill, Rgb stroke, double width, const char*) override {
    cairo_new_sub_path(cr_);
    cairo_arc(cr_, cx, cy, r, 0, 2 * kPi);
    color(fill);
    cairo_fill_preserve(cr_);
    color(stroke);
    cairo_set_line_width(cr_, width);
    cairo_stroke(cr_);
  }
  void text(double x, double y, const std::string& s, const TextStyle& st) override {
    const std::string safe = sanitize(s);
    set_font(cr_, st.size, st.bold);
    const double w = st.anchor == Anchor::Start ? 0 : advance(cr_, safe);
    cairo_save(cr_);
    cairo_translate(cr_, x, y);
    if (st.rotate != 0) cairo_rotate(cr_, st.rotate * kPi / 180);
    cairo_move_to(cr_, st.anchor == Anchor::Start ? 0 : st.anchor == Anchor::Middle ? -w / 2 : -w, 0);
    color(st.color);
    cairo_show_text(cr_, safe.c_str());
    cairo_restore(cr_);
  }
  void colorbar(double x, double y, double w, double h, Colormap cmap) override {
    const auto& stops = colormap_stops(cmap);
    cairo_pattern_t* p = cairo_pattern_create_linear(x, y + h, x, y);  // t = 0 at the bottom
    for (size_t i = 0; i < stops.size(); ++i)
      cairo_pattern_add_color_stop_rgb(p, static_cast<double>(i) / static_cast<double>(stops.size() - 1),
                                       stops[i].r / 255.0, stops[i].g / 255.0, stops[i].b / 255.0);
    cairo_rectangle(cr_, x, y, w, h);
    cairo_set_source(cr_, p);
    cairo_fill(cr_);
    cairo_pattern_destroy(p);
  }
  void begin_group(const char*, bool crisp) override {
    cairo_save(cr_);
    if (crisp) cairo_set_antialias(cr_, CAIRO_ANTIALIAS_NONE);
  }
  void end_group() override { cairo_restore(cr_); }

 private:
  void color(Rgb c) { cairo_set_source_rgb(cr_, c.r / 255.0, c.g / 255.0, c.b / 255.0); }
  cairo_t* cr_;
};

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace

// ---- rendering ------------------------------------------------------------------------------------------

std::string render_svg(int width, int height, const std::function<void(Canvas&)>& draw) {
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 "
    << width << " " << height << "\" font-family=\"" << kFont << "\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  SvgCanvas canvas(o);
  draw(canvas);
  o << "</svg>\n";
  return o.str();
}

std::string render_png(int width, int height, double scale, const std::function<void(Canvas&)>& draw, const char* op) {
  ATTN_CHECK(std::isfinite(scale) && scale > 0, op, "scale must be a positive number, got " << scale);
  const double pw = std::ceil(width * scale), ph = std::ceil(height * scale);
  ATTN_CHECK(pw >= 1 && ph >= 1 && pw <= 32767 && ph <= 32767, op,
             "a " << pw << " x " << ph << " px image is outside cairo's 1..32767 px limits; "
                  << "use a smaller cell size or scale");
  using Surface = std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)>;
  using Context = std::unique_ptr<cairo_t, decltype(&cairo_destroy)>;
  Surface surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, static_cast<int>(pw), static_cast<int>(ph)),
                  &cairo_surface_destroy);
  ATTN_CHECK(cairo_surface_status(surface.get()) == CAIRO_STATUS_SUCCESS, op,
             "cannot create a " << pw << " x " << ph
                                << " px image: " << cairo_status_to_string(cairo_surface_status(surface.get())));
  Context cr(cairo_create(surface.get()), &cairo_destroy);
  cairo_set_source_rgb(cr.get(), 1, 1, 1);
  cairo_paint(cr.get());
  cairo_scale(cr.get(), scale, scale);
  CairoCanvas canvas(cr.get());
  draw(canvas);
  ATTN_CHECK(cairo_status(cr.get()) == CAIRO_STATUS_SUCCESS, op,
             "drawing failed: " << cairo_status_to_string(cairo_status(cr.get())));
  cairo_surface_flush(surface.get());
  std::string png;
  const cairo_status_t st = cairo_surface_write_to_png_stream(surface.get(), append_bytes, &png);
  ATTN_CHECK(st == CAIRO_STATUS_SUCCESS, op, "PNG encoding failed: " << cairo_status_to_string(st));
  return png;
}

void save_file(const std::string& path, const std::string& content, const char* op) {
  try {
    io::write_file_atomic(path, content);
  } catch (const Error& e) {
    ATTN_FAIL(op, "cannot save " << path << ": " << e.what());
  }
}

double text_width(const std::string& s, double size, bool bold) {
  thread_local Measurer m;
  set_font(m.cr, size, bold);
  const double w = advance(m.cr, sanitize(s));
  // A context in an error state measures nothing; fall back to a typical sans-serif advance.
  return cairo_status(m.cr) == CAIRO_STATUS_SUCCESS ? w : 0.6 * size * static_cast<double>(s.size());
}

// ---- labels and numbers -----------------------------------------------------------------------------------

std::string display_label(const std::string& raw, size_t max_chars) {
  // Split into display units (one code point each, or one escape such as "\n").
  std::vector<std::string> units;
  for (size_t i = 0; i < raw.size();) {
    uint32_t cp;
    i += decode_utf8(raw, i, cp);
    std::string u;
    if (cp == '\n') u = "\\n";
    else if (cp == '\t') u = "\\t";
    else if (cp == '\r') u = "\\r";
    else if (is_control(cp)) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
      u = buf;
    } else if (cp == 0xFFFE || cp == 0xFFFF) {
      append_utf8(u, 0xFFFD);
    } else {
      append_utf8(u, cp);
    }
    units.push_back(std::move(u));
  }
  // Spaces at either end would vanish on the page; show them as "␣" (U+2423, OPEN BOX).
  for (size_t i = 0; i < units.size() && units[i] == " "; ++i) units[i] = "\u2423";
  for (size_t i = units.size(); i-- > 0 && units[i] == " ";) units[i] = "\u2423";
  if (max_chars > 0 && units.size() > max_chars) {
    units.resize(max_chars - 1);
    units.push_back("\u2026");  // "…"
  }
  std::string o;
  for (const auto& u : units) o += u;
  return o;
}

std::string xml_escape(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '&':
        o += "&amp;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  const double span = hi - lo;
  if (!(span > 0) || !std::isfinite(span)) return {lo};
  const double raw = span / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
  std::vector<double> t;
  const double first = std::ceil(lo / step - 1e-9);
  for (int i = 0; i < 4 * target && (first + i) * step <= hi + 1e-9 * span; ++i) {
    const double v = (first + i) * step;
    t.push_back(std::fabs(v) < 1e-9 * span ? 0.0 : v);  // no "-0" or 1e-17 from the multiplication
  }
  return t;
}

std::string format_tick(double v) {
  std::ostringstream os;
  os.precision(4);
  os << (v == 0 ? 0.0 : v);
  return os.str();
}

std::string format_value(double v, int decimals) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  if (std::fabs(v) >= 1e5) std::snprintf(buf, sizeof buf, "%.2g", v);
  else std::snprintf(buf, sizeof buf, "%.*f", std::clamp(decimals, 0, 6), v);
  std::string s = buf;
  // "-0.00" says the value is negative but tiny; for a learner, "0.00" reads better.
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

}  // namespace attn::viz::detail

// Fontconfig, which cairo's text goes through, stores its caches behind encoded offsets rather than plain
// pointers, so LeakSanitizer cannot see they are still reachable and reports them as leaked at exit
// (a few hundred bytes, once per process). This tells LSan to ignore allocations made inside fontconfig,
// in every ASan build that draws figures. It is weak: a program that defines its own suppressions wins.
extern "C" __attribute__((weak)) const char* __lsan_default_suppressions() { return "leak:libfontconfig.so\n"; }
