//! Chat templates: turning a conversation into the prompt text a model was trained on.
//!
//! What flows in: a model's Hugging Face Jinja template (`chat_template` in
//! `tokenizer_config.json`) with its BOS and EOS tokens, then a list of messages. What flows out:
//! the prompt text, to be tokenized without adding special tokens (the template already wrote
//! them).
//!
//! Templates are written for Python's Jinja2 as `transformers` sets it up, so the environment here
//! mirrors that: `trim_blocks` and `lstrip_blocks` on, lenient undefined values, Python string and
//! dict methods (`.strip()`, `.items()`, ...), a `raise_exception` function, and `tools` and
//! `documents` passed as `none` the way `apply_chat_template` passes them when there are none.

use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};

use crate::EngineError;

/// The name the compiled template goes by; minijinja quotes it in error messages.
const TEMPLATE_NAME: &str = "chat_template";

/// ChatML, as `transformers` used by default before templates were mandatory.
const CHATML: &str = "{% for message in messages %}\
{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}\
{% endfor %}\
{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// One turn of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant` (templates may accept others, such as `tool`).
    pub role: String,
    /// The text of the turn.
    pub content: String,
}

impl Message {
    /// A message with the given role and text.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self { role: role.into(), content: content.into() }
    }
}

/// A compiled chat template, ready to render any number of conversations.
#[derive(Clone, Debug)]
pub struct ChatTemplate {
    /// Owns the compiled template under [`TEMPLATE_NAME`].
    environment: Environment<'static>,
    bos_token: Option<String>,
    eos_token: Option<String>,
}

impl ChatTemplate {
    /// Compiles a Hugging Face Jinja chat template (from tokenizer_config.json `chat_template`).
    /// Errors (syntax) -> [`EngineError::Template`] with minijinja's message and line.
    pub fn new(source: &str, bos_token: Option<String>, eos_token: Option<String>) -> Result<Self, EngineError> {
        let mut environment = Environment::new();
        // Jinja2 as `transformers` configures it: block tags swallow their own line, so templates
        // can be laid out over many lines without the layout leaking into the prompt.
        environment.set_trim_blocks(true);
        environment.set_lstrip_blocks(true);
        // Jinja2's default: undefined prints as nothing and is falsy, but using it further fails.
        environment.set_undefined_behavior(UndefinedBehavior::Lenient);
        environment.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        environment.add_function("raise_exception", raise_exception);
        environment.add_template_owned(TEMPLATE_NAME, source.to_owned()).map_err(template_error)?;
        Ok(Self { environment, bos_token, eos_token })
    }

    /// ChatML, used when a model has no template.
    pub fn chatml() -> Self {
        // A constant that the tests compile; failing here would be a bug in this file, not bad input.
        #[allow(clippy::expect_used)]
        Self::new(CHATML, None, None).expect("the built-in ChatML template compiles")
    }

    /// Renders `messages` with `add_generation_prompt`; exposes `messages`,
    /// `add_generation_prompt`, `bos_token`, `eos_token` (left undefined when the model has none,
    /// so they print as nothing), `tools` and `documents` (both `none`), and `raise_exception(msg)`,
    /// which fails the rendering with `msg`.
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String, EngineError> {
        let mut context = vec![
            ("messages", Value::from_serialize(messages)),
            ("add_generation_prompt", Value::from(add_generation_prompt)),
            ("tools", Value::from(())),
            ("documents", Value::from(())),
        ];
        context.extend(self.bos_token.as_deref().map(|token| ("bos_token", Value::from(token))));
        context.extend(self.eos_token.as_deref().map(|token| ("eos_token", Value::from(token))));
        let template = self.environment.get_template(TEMPLATE_NAME).map_err(template_error)?;
        template.render(Value::from_iter(context)).map_err(template_error)
    }
}

/// The `raise_exception` global of `transformers`: templates call it to reject conversations they
/// cannot format (roles out of order, a system message where none is allowed, ...).
fn raise_exception(message: String) -> Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message))
}

/// Keeps minijinja's message, which ends with the template name and line, e.g.
/// `syntax error: unexpected end of input (in chat_template:3)`.
fn template_error(error: Error) -> EngineError {
    EngineError::Template(error.to_string())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use anyhow::Context;

    use super::*;

    fn workspace_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// Reads the model's JSON, failing loudly (never skipping) when the model was not fetched.
    fn read_json(path: &Path) -> anyhow::Result<serde_json::Value> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{} is missing: run scripts/setup.sh", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
    }

    fn conversation() -> Vec<Message> {
        vec![
            Message::new("system", "  Be brief.  "),
            Message::new("user", "Hi!\n"),
            Message::new("assistant", " Hello."),
            Message::new("user", "Bye"),
        ]
    }

    #[test]
    fn smollm2_template_reproduces_the_golden_prompts() -> anyhow::Result<()> {
        let config = read_json(&workspace_root().join("models/smollm2-135m-instruct/tokenizer_config.json"))?;
        let source = config["chat_template"].as_str().context("tokenizer_config.json has no chat_template")?;
        let token = |name: &str| config[name].as_str().map(str::to_owned);
        let template = ChatTemplate::new(source, token("bos_token"), token("eos_token"))?;

        let golden = read_json(&workspace_root().join("../shared/reference/golden.json"))?;
        let chats = golden["chat"].as_array().context("golden.json has no chat[]")?;
        anyhow::ensure!(!chats.is_empty(), "golden.json has an empty chat[]");
        for (index, chat) in chats.iter().enumerate() {
            let messages: Vec<Message> = serde_json::from_value(chat["messages"].clone())?;
            let expected = chat["prompt_text"].as_str().with_context(|| format!("chat[{index}] has no prompt_text"))?;
            assert_eq!(template.render(&messages, true)?, expected, "chat[{index}]");
        }
        Ok(())
    }

    #[test]
    fn chatml_fallback() -> anyhow::Result<()> {
        let messages = [Message::new("system", "S"), Message::new("user", "Hi")];
        let template = ChatTemplate::chatml();
        assert_eq!(
            template.render(&messages, true)?,
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(template.render(&messages[1..], false)?, "<|im_start|>user\nHi<|im_end|>\n");
        Ok(())
    }

    #[test]
    fn raise_exception_fails_with_its_message() -> anyhow::Result<()> {
        // Mistral's guard, over several lines as such templates are written.
        let source = "{% for message in messages %}
    {% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
    {% endif %}
{{ message['content'] }}
{% endfor %}";
        let template = ChatTemplate::new(source, None, None)?;
        assert_eq!(template.render(&[Message::new("user", "a"), Message::new("assistant", "b")], false)?, "a\nb\n");
        match template.render(&[Message::new("assistant", "a")], false) {
            Err(EngineError::Template(message)) => {
                assert!(message.contains("Conversation roles must alternate user/assistant"), "{message}");
            }
            other => panic!("expected a template error, got {other:?}"),
        }
        Ok(())
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let source = "{% for message in messages %}\n{{ message['content'] }}\n{% if %}\n{% endfor %}";
        match ChatTemplate::new(source, None, None) {
            Err(EngineError::Template(message)) => {
                assert!(message.contains("syntax error"), "{message}");
                assert!(message.contains(":3"), "{message}");
            }
            other => panic!("expected a template error, got {other:?}"),
        }
        assert!(matches!(ChatTemplate::new("{{ unclosed", None, None), Err(EngineError::Template(_))));
    }

    #[test]
    fn llama3_style_template_with_bos_token_and_strip() -> anyhow::Result<()> {
        // Llama 3's template, with `.strip()` in place of `| trim` to exercise the Python methods.
        let source = "{% set loop_messages = messages %}{% for message in loop_messages %}\
{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'].strip() + '<|eot_id|>' %}\
{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}\
{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
        let template = ChatTemplate::new(source, Some("<|begin_of_text|>".into()), Some("<|eot_id|>".into()))?;
        assert_eq!(
            template.render(&conversation(), true)?,
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>\
<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>\
<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>\
<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>\
<|start_header_id|>assistant<|end_header_id|>\n\n"
        );
        Ok(())
    }

    #[test]
    fn missing_special_tokens_print_as_nothing() -> anyhow::Result<()> {
        let template = ChatTemplate::new("[{{ bos_token }}|{{ eos_token }}]", None, None)?;
        assert_eq!(template.render(&[], false)?, "[|]");
        let template = ChatTemplate::new("[{{ bos_token }}|{{ eos_token }}]", Some("<s>".into()), Some("</s>".into()))?;
        assert_eq!(template.render(&[], false)?, "[<s>|</s>]");
        Ok(())
    }

    #[test]
    fn tools_and_documents_are_none() -> anyhow::Result<()> {
        let source = "{% if tools is not none %}tools{% endif %}{% if documents %}docs{% endif %}\
{% if tools is defined and tools is none %}ok{% endif %}{% for tool in tools or [] %}{{ tool }}{% endfor %}";
        assert_eq!(ChatTemplate::new(source, None, None)?.render(&conversation(), true)?, "ok");
        Ok(())
    }

    #[test]
    fn python_methods_and_missing_keys_work_like_jinja2() -> anyhow::Result<()> {
        let source = "{% for message in messages %}{% for key, value in message.items() %}{{ key }}={{ value.upper() }};\
{% endfor %}{{ message.get('name', 'anon') }}{% if message.tool_calls is defined %}!{% endif %}|{% endfor %}";
        let template = ChatTemplate::new(source, None, None)?;
        assert_eq!(template.render(&[Message::new("user", "hi")], false)?, "role=USER;content=HI;anon|");
        Ok(())
    }

    #[test]
    fn empty_conversations_render_without_panicking() -> anyhow::Result<()> {
        assert_eq!(ChatTemplate::chatml().render(&[], true)?, "<|im_start|>assistant\n");
        // A template that indexes the first message may fail on an empty list, but only with an error.
        let template = ChatTemplate::new("{{ messages[0]['role'] }}{{ messages[0].content.strip() }}", None, None)?;
        if let Err(error) = template.render(&[], true) {
            assert!(matches!(error, EngineError::Template(_)), "{error:?}");
        }
        Ok(())
    }
}
